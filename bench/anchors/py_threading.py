"""Python's socketserver.ThreadingTCPServer timestamp server (persistent connections). With
--tls-cert/--tls-key, over Python's ssl: each accepted socket is wrapped in get_request without
a handshake, and the handler's thread runs it (the accept loop never waits on a client)."""
import socketserver
from time import ctime

import anchor_common


class TimestampHandler(socketserver.StreamRequestHandler):
    def setup(self):
        if self.server.context is not None:
            self.request.do_handshake()
        super().setup()

    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"[%s] %s" % (ctime().encode(), line))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    context = None

    def get_request(self):
        sock, addr = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # the load generator ends its connections abruptly when a run stops


def main():
    args = anchor_common.parse_args(__doc__)
    anchor_common.init_process()
    server = Server((args.host, args.port), TimestampHandler)
    server.context = anchor_common.server_context(args)
    # Over TLS, TCP_NODELAY (as every TLS server of the benchmark): TLS 1.3's session tickets go
    # out just before the first reply, which Nagle would hold for the client's delayed ACK.
    TimestampHandler.disable_nagle_algorithm = server.context is not None
    anchor_common.announce_port(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
