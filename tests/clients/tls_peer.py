#!/usr/bin/env python3
"""A TLS peer written with Python's ssl module, for the interop tests (tests/test_ssl_interop.cpp).

    tls_peer.py client HOST PORT CAFILE SERVERNAME [MAXVERSION] [ALPN,...]
    tls_peer.py server HOST CERT KEY [CAFILE-FOR-CLIENT-CERTS] [ALPN,...]

client: verifies the server against CAFILE and SERVERNAME, sends "hello python\\n", prints
"reply: <line>", "version: <TLS version>" and "alpn: <protocol>", then closes (close_notify).
server: prints "listening on HOST:PORT" on stderr, accepts one connection (with a CA file,
requiring a client certificate), prints "peer: <commonName or none>", reads one line, sends
back "py:<line>", prints "version: ...", "alpn: ...", then ends TLS with unwrap() (close_notify
both ways; Python's close() alone sends none) and closes. Every wait is bounded (10 s).
"""
import socket
import ssl
import sys


def alpn_list(arg):
    return [p for p in arg.split(',') if p] if arg else []


def read_line(s):
    """Bytes up to and with the first newline (fewer at the end of the stream)."""
    data = b''
    while not data.endswith(b'\n'):
        chunk = s.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def client(host, port, cafile, name, maxversion='', alpn=''):
    ctx = ssl.create_default_context(cafile=cafile)
    if maxversion == '1.2':
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn_list(alpn):
        ctx.set_alpn_protocols(alpn_list(alpn))
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(b'hello python\n')
            print('reply: ' + read_line(s).decode().rstrip('\n'))
            print('version: ' + str(s.version()))
            print('alpn: ' + str(s.selected_alpn_protocol()), flush=True)


def server(host, cert, key, cafile='', alpn=''):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.verify_mode = ssl.CERT_REQUIRED
    if alpn_list(alpn):
        ctx.set_alpn_protocols(alpn_list(alpn))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.settimeout(10)
        ls.bind((host, 0))
        ls.listen(1)
        print('listening on %s:%d' % (host, ls.getsockname()[1]), file=sys.stderr, flush=True)
        conn, _ = ls.accept()
        conn.settimeout(10)
        with ctx.wrap_socket(conn, server_side=True) as s:
            cert = s.getpeercert()
            cn = 'none'
            for rdn in (cert or {}).get('subject', ()):
                for k, v in rdn:
                    if k == 'commonName':
                        cn = v
            print('peer: ' + cn, flush=True)
            s.sendall(b'py:' + read_line(s))
            print('version: ' + str(s.version()))
            print('alpn: ' + str(s.selected_alpn_protocol()), flush=True)
            # Python's close() sends no close_notify; unwrap() does (and waits for the peer's).
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass


if __name__ == '__main__':
    mode, args = sys.argv[1], sys.argv[2:]
    try:
        (client if mode == 'client' else server)(*args)
    except Exception as e:  # one line, and a failing exit status
        print('error: %s: %s' % (type(e).__name__, e), file=sys.stderr, flush=True)
        sys.exit(1)
