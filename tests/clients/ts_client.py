#!/usr/bin/env python3
"""The book's timestamp clients (tsTclnt.py, tsUclnt.py), without the keyboard.

    ts_client.py tcp|udp HOST PORT MESSAGE...

Sends each MESSAGE as the book's client sends a typed line (no newline added), reads one
reply with recv(1024) / recvfrom(1024), and prints it decoded, one line per reply. Used by
tests/test_samples.cpp to show that the C++ servers talk to Python's socket module unchanged.
Every wait is bounded: a reply that does not come within 10 s is an error.
"""
import sys
from socket import AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, socket

BUFSIZ = 1024


def main():
    kind, host, port, *messages = sys.argv[1:]
    ADDR = (host, int(port))
    family = AF_INET6 if ':' in host else AF_INET
    if kind == 'tcp':
        tcpCliSock = socket(family, SOCK_STREAM)
        tcpCliSock.settimeout(10)
        tcpCliSock.connect(ADDR)
        for data in messages:
            tcpCliSock.send(data.encode('utf-8'))
            data = tcpCliSock.recv(BUFSIZ)
            if not data:
                break
            print(data.decode('utf-8'), flush=True)
        tcpCliSock.close()
    else:
        udpCliSock = socket(family, SOCK_DGRAM)
        udpCliSock.settimeout(10)
        for data in messages:
            udpCliSock.sendto(data.encode('utf-8'), ADDR)
            data, addr = udpCliSock.recvfrom(BUFSIZ)
            print(data.decode('utf-8'), flush=True)
        udpCliSock.close()


if __name__ == '__main__':
    main()
