#!/usr/bin/env python3
"""The book's clients for the SocketServer timestamp servers, without the keyboard.

    ts_client_ss.py ss HOST PORT MESSAGE...     tsTclntSS.py (Example 2-9): a connection per line
    ts_client_ss.py keep HOST PORT MESSAGE...   exercise 2-16: one connection for every line

Sends each MESSAGE as the book's client sends a typed line ('%s\\r\\n'), reads the reply and
prints it stripped, one line per reply. Used by tests/test_samples_ss.cpp to show that the C++
servers talk to Python's socket module unchanged. Every wait is bounded (10 s).
"""
import sys
from socket import AF_INET, AF_INET6, SOCK_STREAM, socket

BUFSIZ = 1024


def main():
    kind, host, port, *messages = sys.argv[1:]
    ADDR = (host, int(port))
    family = AF_INET6 if ':' in host else AF_INET
    if kind == 'ss':
        for data in messages:
            tcpCliSock = socket(family, SOCK_STREAM)
            tcpCliSock.settimeout(10)
            tcpCliSock.connect(ADDR)
            tcpCliSock.send(bytes('%s\r\n' % data, 'utf-8'))
            data = tcpCliSock.recv(BUFSIZ)
            if not data:
                break
            print(data.decode('utf-8').strip(), flush=True)
            tcpCliSock.close()
    else:
        tcpCliSock = socket(family, SOCK_STREAM)
        tcpCliSock.settimeout(10)
        tcpCliSock.connect(ADDR)
        rfile = tcpCliSock.makefile('rb')
        for data in messages:
            tcpCliSock.sendall(bytes('%s\r\n' % data, 'utf-8'))
            data = rfile.readline()
            if not data:
                break
            print(data.decode('utf-8').strip(), flush=True)
        tcpCliSock.close()


if __name__ == '__main__':
    main()
