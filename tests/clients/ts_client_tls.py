#!/usr/bin/env python3
"""The book's timestamp client over TLS, with Python's ssl module (tests/test_samples_tls.cpp).

    ts_client_tls.py HOST PORT CAFILE|insecure|fetch SERVERNAME MESSAGE

Connects, wraps the socket (verifying the server against CAFILE and SERVERNAME; with "insecure"
not at all; with "fetch", against the certificate ssl.get_server_certificate fetched from the
server first, strictly as Python 3.13 does by default), sends MESSAGE, prints the reply
("reply: <reply>") and the SHA-256 fingerprint of the server's certificate as the openssl tool
prints it ("fingerprint: AB:CD:..."), then closes as Python does: close() with no close_notify.
Every wait is bounded (10 s).
"""
import hashlib
import socket
import ssl
import sys


def main(host, port, cafile, name, message):
    if cafile == 'insecure':
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif cafile == 'fetch':  # trust on first use: what a self-signed server showed
        pem = ssl.get_server_certificate((host, int(port)), timeout=10)
        ctx = ssl.create_default_context(cadata=pem)
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    else:
        ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=name)
    s.sendall(message.encode())
    reply = b''
    while not reply.endswith(message.encode()):
        chunk = s.recv(1024)
        if not chunk:
            break
        reply += chunk
    digest = hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest().upper()
    print('reply: ' + reply.decode())
    print('fingerprint: ' + ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2)))
    print('version: ' + str(s.version()), flush=True)
    s.close()


if __name__ == '__main__':
    main(*sys.argv[1:6])
