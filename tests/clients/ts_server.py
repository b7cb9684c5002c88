#!/usr/bin/env python3
"""The book's TCP timestamp server (tsTserv3.py), for one client, on a port the kernel picks.

    ts_server.py HOST

Prints "listening on HOST:PORT" on stderr (as the C++ samples do), serves one client exactly
as the book's server does, then exits. Used by tests/test_samples.cpp to show that the C++
client talks to Python's socket module unchanged. Every wait is bounded (10 s).
"""
import sys
from socket import AF_INET, AF_INET6, SOCK_STREAM, socket
from time import ctime

BUFSIZ = 1024


def main():
    HOST = sys.argv[1]
    family = AF_INET6 if ':' in HOST else AF_INET
    tcpSerSock = socket(family, SOCK_STREAM)
    tcpSerSock.settimeout(10)
    tcpSerSock.bind((HOST, 0))
    tcpSerSock.listen(5)
    port = tcpSerSock.getsockname()[1]
    print('listening on %s:%d' % (HOST, port), file=sys.stderr, flush=True)

    print('waiting for connection...', flush=True)
    tcpCliSock, addr = tcpSerSock.accept()
    tcpCliSock.settimeout(10)
    print('...connected from:', addr, flush=True)
    while True:
        data = tcpCliSock.recv(BUFSIZ)
        if not data:
            break
        tcpCliSock.send(bytes('[%s] %s' % (ctime(), data.decode('utf-8')), 'utf-8'))
    tcpCliSock.close()
    tcpSerSock.close()


if __name__ == '__main__':
    main()
