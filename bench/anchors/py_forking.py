"""Python's socketserver.ForkingTCPServer timestamp server (persistent connections).
Python's defaults otherwise, including ForkingMixIn.max_children = 40."""
import os
import signal
import socketserver
from time import ctime

import anchor_common


class TimestampHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"[%s] %s" % (ctime().encode(), line))


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    args = anchor_common.parse_args(__doc__)
    server = Server((args.host, args.port), TimestampHandler)

    def stop_children():  # the parent takes its children down with it
        for pid in list(server.active_children or ()):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    anchor_common.init_process(stop_children)
    anchor_common.announce_port(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
