"""Grader of exercise 2-7: a half-duplex chat (turns, the client first)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import chat  # noqa: E402
import kit  # noqa: E402

grader = kit.Grader("2-7", "a half-duplex chat")


def server_rounds(ctx, rounds):
    s, c = chat.as_server(ctx)
    at = 0
    for i in range(rounds):
        c.send("hi server %d\n" % i)
        at = chat.printed(s, "hi server %d" % i, at)
        s.write("hi client %d\n" % i)
        chat.received(c, "hi client %d" % i)
    return s, c


@grader.check("server: prints what the client says")
def _(ctx):
    s, c = chat.as_server(ctx)
    c.send("hi server\n")
    chat.printed(s, "hi server")
    return 'the client sent "hi server"; the server printed it'


@grader.check("server: sends what its user types, in its turn")
def _(ctx):
    server_rounds(ctx, 1)
    return 'after "hi server 0" came, the server\'s user typed "hi client 0": the client got it'


@grader.check("server: the turns go on, then the next client")
def _(ctx):
    s, c = server_rounds(ctx, 3)
    c.close()
    c2 = ctx.connect(s)
    c2.send("a new client\n")
    chat.printed(s, "a new client")
    s.write("welcome\n")
    chat.received(c2, "welcome")
    return "three rounds with one client; it left, and a second client chatted too"


@grader.check("client: sends what its user types")
def _(ctx):
    p, conn = chat.as_client(ctx)
    p.write("hello there\n")
    chat.received(conn, "hello there")
    return 'its user typed "hello there"; the server got it'


@grader.check("client: prints the server's answer, then it is the user's turn again")
def _(ctx):
    p, conn = chat.as_client(ctx)
    at = 0
    for i in range(3):
        p.write("question %d\n" % i)
        chat.received(conn, "question %d" % i)
        conn.send("answer %d\n" % i)
        at = chat.printed(p, "answer %d" % i, at)
    return "three rounds: each line typed reached the server, each answer was printed"


@grader.check("client: the end of input ends it")
def _(ctx):
    p, conn = chat.as_client(ctx)
    p.write("one line\n")
    chat.received(conn, "one line")
    conn.send("ok\n")
    chat.printed(p, "ok")
    return chat.ends_at_end_of_input(p, conn)


@grader.check("client: the server leaving ends it")
def _(ctx):
    p, conn = chat.as_client(ctx)
    p.write("anyone there?\n")
    chat.received(conn, "anyone there?")
    conn.close()  # the server leaves instead of answering
    code = p.must_exit(5, "end when the server closes the connection")
    if kit.crashed(code, p.text("stderr")):
        raise kit.Fail("the server closed the connection; your program %s%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "the server closed the connection while the client waited: it ended (status %d)" % code


if __name__ == "__main__":
    grader.main()
