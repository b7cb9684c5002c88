"""Grader of exercise 2-16: one connection per client for all its lines, clients at once."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-16", "one connection per client, clients served at once")


def kept(c, line, before):
    try:
        return c.expect_stamp(line)
    except kit.Fail as e:
        raise kit.Fail("%s; then sent \"%s\" on the same connection: %s (keep the connection "
                       "and answer every line)" % (before, line, e))


@grader.check("three lines on one connection")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    c.expect_stamp("one")
    kept(c, "two", 'sent "one", answered')
    kept(c, "three", 'sent "one" and "two", answered')
    return 'sent "one", "two", "three" on one connection: each answered in turn'


@grader.check("the connection stays open between lines")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    c.expect_stamp("first")
    time.sleep(1.0)
    kept(c, "a second later", 'sent "first", answered, waited a second')
    return "a line a second after the first was still answered"


@grader.check("a line that comes in pieces")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    c.send("hel")
    time.sleep(0.3)
    c.send("lo\n")
    c.expect_stamp("hello", send=False)
    return 'sent "hel", then "lo\\n": one answer, "[<time>] hello"'


@grader.check("when the client closes, the server closes and serves the next")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    c.expect_stamp("bye soon")
    c.sock.shutdown(1)  # the client's end of stream (SHUT_WR)
    if not c.closed_within(3):
        raise kit.Fail("the client ended its side of the connection; expected the server to "
                       "close its side within 3 s; it stayed open")
    ctx.connect(s).expect_stamp("next")
    return "the client ended its side; the server closed its own, and served the next client"


@grader.check("two clients at once, each on its own connection")
def _(ctx):
    s = ctx.start_server()
    a = ctx.connect(s)
    b = ctx.connect(s)
    a.expect_stamp("A 1")
    try:
        b.expect_stamp("B 1", 3)
    except kit.Fail as e:
        raise kit.Fail("client A was answered and kept its connection; client B sent \"B 1\": "
                       "%s (serve clients at once: a mix-in, exercise 2-15)" % e)
    a.expect_stamp("A 2")
    b.expect_stamp("B 2")
    return "A and B took turns on their own connections: A 1, B 1, A 2, B 2 all answered"


if __name__ == "__main__":
    grader.main()
