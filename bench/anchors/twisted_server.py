"""Twisted timestamp server: a LineReceiver (delimiter b"\\n") answers each line with
"[ctime] line\\n". Twisted's default reactor (epoll on Linux); Twisted's own SIGTERM/SIGINT
handlers stop the reactor and the process exits 0."""
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
    port = reactor.listenTCP(args.port, factory, backlog=1024, interface=args.host)
    anchor_common.announce_port(port.getHost().port)
    reactor.run()


if __name__ == "__main__":
    main()
