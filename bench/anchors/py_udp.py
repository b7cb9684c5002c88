"""Python's socketserver.UDPServer timestamp server: each datagram gets "[ctime] data" back."""
import socketserver
from time import ctime

import anchor_common


class TimestampHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(b"[%s] %s" % (ctime().encode(), data), self.client_address)


class Server(socketserver.UDPServer):
    allow_reuse_address = True
    request_queue_size = 1024  # (no meaning for UDP; set like the other Python anchors)


def main():
    args = anchor_common.parse_args(__doc__)
    anchor_common.init_process()
    server = Server((args.host, args.port), TimestampHandler)
    anchor_common.announce_port(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
