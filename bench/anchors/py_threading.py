"""Python's socketserver.ThreadingTCPServer timestamp server (persistent connections)."""
import socketserver
from time import ctime

import anchor_common


class TimestampHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"[%s] %s" % (ctime().encode(), line))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    args = anchor_common.parse_args(__doc__)
    anchor_common.init_process()
    server = Server((args.host, args.port), TimestampHandler)
    anchor_common.announce_port(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
