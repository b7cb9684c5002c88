#!/usr/bin/env python3
"""The book's SocketServer timestamp servers, on a port the kernel picks, for a few requests.

    ts_server_ss.py ss HOST N      tsTservSS.py (Example 2-8): TCPServer, one line per connection
    ts_server_ss.py keep HOST N    exercise 2-16: ThreadingTCPServer, every line of a connection

Prints "listening on HOST:PORT" on stderr (as the C++ samples do), handles N connections with
handle_request(), then exits. Used by tests/test_samples_ss.cpp to show that the C++ clients
talk to Python's socketserver unchanged. Every wait is bounded (10 s).
"""
import sys
from socketserver import StreamRequestHandler as SRH
from socketserver import TCPServer as TCP
from socketserver import ThreadingTCPServer
from time import ctime


class MyRequestHandler(SRH):
    timeout = 10

    def handle(self):
        print('...connected from:', self.client_address, flush=True)
        self.wfile.write(bytes('[%s] %s' % (ctime(), self.rfile.readline().decode('utf-8')),
                               'utf-8'))


class KeepRequestHandler(SRH):
    timeout = 10

    def handle(self):
        print('...connected from:', self.client_address, flush=True)
        for line in self.rfile:
            self.wfile.write(bytes('[%s] %s' % (ctime(), line.decode('utf-8')), 'utf-8'))


def main():
    kind, HOST, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == 'ss':
        tcpServ = TCP((HOST, 0), MyRequestHandler)
    else:
        tcpServ = ThreadingTCPServer((HOST, 0), KeepRequestHandler)
    tcpServ.timeout = 10
    print('listening on %s:%d' % (HOST, tcpServ.server_address[1]), file=sys.stderr, flush=True)
    print('waiting for connection...', flush=True)
    for _ in range(n):
        tcpServ.handle_request()
    tcpServ.server_close()


if __name__ == '__main__':
    main()
