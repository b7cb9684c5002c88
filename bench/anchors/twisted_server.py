"""Twisted timestamp server: a LineReceiver (delimiter b"\\n") answers each line with
"[ctime] line\\n". Twisted's default reactor (epoll on Linux); Twisted's own SIGTERM/SIGINT
handlers stop the reactor and the process exits 0. With --tls-cert/--tls-key: listenSSL
(Twisted's TLS over pyOpenSSL, python3-openssl)."""
import resource
from time import ctime

from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver

import anchor_common


class TimestampProtocol(LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line):
        self.sendLine(b"[%s] %s" % (ctime().encode(), line))


def main():
    args = anchor_common.parse_args(__doc__)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    factory = protocol.Factory.forProtocol(TimestampProtocol)
    factory.noisy = False
    if args.tls_cert:
        from twisted.internet import ssl
        with open(args.tls_cert) as c, open(args.tls_key) as k:
            pem = ssl.PrivateCertificate.loadPEM(c.read() + k.read())
        # Session tickets on, as every other TLS server of the benchmark has them (Twisted's
        # default is off). Twisted writes the tickets and the first reply together, so it needs
        # no TCP_NODELAY for that.
        options = ssl.CertificateOptions(privateKey=pem.privateKey.original,
                                         certificate=pem.original, enableSessionTickets=True)
        port = reactor.listenSSL(args.port, factory, options, backlog=1024, interface=args.host)
    else:
        port = reactor.listenTCP(args.port, factory, backlog=1024, interface=args.host)
    anchor_common.announce_port(port.getHost().port)
    reactor.run()


if __name__ == "__main__":
    main()
