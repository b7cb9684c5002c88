"""Grader of exercise 2-15: the timestamp server serves clients at the same time (a mix-in)."""
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-15", "the timestamp server with a threading or forking mix-in")


def silent_and_talker(ctx):
    """A connects and says nothing; B connects and is answered (or not)."""
    s = ctx.start_server()
    a = ctx.connect(s)
    b = ctx.connect(s)
    try:
        b.expect_stamp("from B", 3)
    except kit.Fail as e:
        raise kit.Fail("client A connected and stayed silent, then client B sent \"from B\"; "
                       "expected B answered within 3 s while A waits; %s: the server is still "
                       "waiting for A (serve clients at once with a mix-in)" % e)
    return s, a, b


@grader.check("one request, one answer, then the connection closes")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    reply = c.expect_stamp("hello")
    if not c.closed_within(3):
        raise kit.Fail("after the answer, expected the server to close the connection (one "
                       "request per connection, as TCPServer does); it stayed open 3 s")
    return 'sent "hello", got %s, then the server closed the connection' % kit.show(reply)


@grader.check("a silent client does not hold up the others")
def _(ctx):
    silent_and_talker(ctx)
    return "A stayed silent; B was answered meanwhile"


@grader.check("the silent client is served when it speaks")
def _(ctx):
    s, a, b = silent_and_talker(ctx)
    a.expect_stamp("from A")
    return "A stayed silent while B was answered; then A sent \"from A\" and was answered"


@grader.check("the console shows the clients served at the same time")
def _(ctx):
    s, a, b = silent_and_talker(ctx)
    for name, c in (("A", a), ("B", b)):
        s.wait_output(r"\b%d\b" % c.local_port, 3,
                      what="a line naming client %s's address (its port %d)" % (name, c.local_port))
    return ("while A was still connected, the server printed a line for A (port %d) and for "
            "B (port %d)" % (a.local_port, b.local_port))


@grader.check("ten clients at once")
def _(ctx):
    s = ctx.start_server()
    conns = [ctx.connect(s) for _ in range(10)]
    for i, c in enumerate(conns):  # all are connected; now each speaks, last first
        c.send("client %d\n" % i)
    for i, c in reversed(list(enumerate(conns))):
        c.expect_stamp("client %d" % i, 5, send=False)
    return "ten clients connected, then each sent a line: all ten were answered"


if __name__ == "__main__":
    grader.main()
