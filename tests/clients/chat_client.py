#!/usr/bin/env python3
"""A chat client for chatserv / selectchat, with Python's socket module and no keyboard.

    chat_client.py HOST PORT LINE...

Connects, waits for the server's welcome ("* welcome, ..."), sends each LINE with a '\\n',
then reads until the server closes the connection (the last LINE is normally /quit) and
prints everything received, as received. Used by tests/test_samples_tw.cpp to show that the
C++ chat servers talk to Python's socket module unchanged. Every wait is bounded (10 s).
"""
import sys
from socket import AF_INET, AF_INET6, SOCK_STREAM, socket

BUFSIZ = 4096


def main():
    host, port, *lines = sys.argv[1:]
    family = AF_INET6 if ':' in host else AF_INET
    sock = socket(family, SOCK_STREAM)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    received = b''
    while b'* welcome' not in received or not received.endswith(b'\n'):
        data = sock.recv(BUFSIZ)
        if not data:
            break
        received += data
    for line in lines:
        sock.sendall(('%s\n' % line).encode('utf-8'))
    while True:
        data = sock.recv(BUFSIZ)
        if not data:
            break
        received += data
    sock.close()
    sys.stdout.write(received.decode('utf-8'))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
