"""Grader of exercise 2-8: a full-duplex chat (both type whenever they like)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import chat  # noqa: E402
import kit  # noqa: E402

grader = kit.Grader("2-8", "a full-duplex chat")
HINT = " (full duplex: wait for the keyboard and the connection at once)"


def several(what, fn):
    try:
        fn()
    except kit.Fail as e:
        raise kit.Fail("%s; %s%s" % (what, e, HINT))


@grader.check("server: prints several lines the client sends in a row")
def _(ctx):
    s, c = chat.as_server(ctx)
    c.send("one\ntwo\nthree\n")
    several("the client sent three lines without waiting for answers",
            lambda: [chat.printed(s, w) for w in ("one", "two", "three")])
    return "the client sent three lines in a row: the server printed all three"


@grader.check("server: sends what its user types, with nothing from the client")
def _(ctx):
    s, c = chat.as_server(ctx)
    s.write("hello first\nare you there?\n")
    several("the server's user typed two lines before the client said anything",
            lambda: [chat.received(c, w) for w in ("hello first", "are you there?")])
    return "the server's user spoke first, twice: the client got both lines"


@grader.check("server: both talk at once, then the next client")
def _(ctx):
    s, c = chat.as_server(ctx)
    s.write("from server\n")
    c.send("from client\n")
    chat.received(c, "from server")
    chat.printed(s, "from client")
    c.leave()  # and the server has noticed: what its user types next is for the next client
    c2 = ctx.connect(s)
    s.write("hi newcomer\n")
    chat.received(c2, "hi newcomer")
    return "both sides spoke at once; then a second client was greeted"


@grader.check("client: prints what the server says, while its user types nothing")
def _(ctx):
    p, conn = chat.as_client(ctx)
    conn.send("welcome\nnews: it works\n")
    several("the server sent two lines while the user typed nothing",
            lambda: [chat.printed(p, w) for w in ("welcome", "news: it works")])
    return "the server spoke twice, unasked: the client printed both lines"


@grader.check("client: sends several lines typed in a row")
def _(ctx):
    p, conn = chat.as_client(ctx)
    p.write("a\nb\nc\n")
    several("the user typed three lines and the server answered none",
            lambda: [chat.received(conn, w) for w in ("a", "b", "c")])
    return "the user typed three lines in a row: the server got all three"


@grader.check("client: the end of input ends it")
def _(ctx):
    p, conn = chat.as_client(ctx)
    return chat.ends_at_end_of_input(p, conn)


@grader.check("client: the server leaving ends it at once")
def _(ctx):
    p, conn = chat.as_client(ctx)
    conn.close()  # while the client's user is not typing
    code = p.must_exit(3, "end when the server closes the connection, with no typing" + HINT)
    if kit.crashed(code, p.text("stderr")):
        raise kit.Fail("the server closed the connection; your program %s%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "the server left while the user was quiet: the client ended (status %d)" % code


if __name__ == "__main__":
    grader.main()
