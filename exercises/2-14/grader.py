"""Grader of exercise 2-14: the timestamp server and client handle Ctrl-C, Ctrl-D, bad input
and network errors."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-14", "error handling: Ctrl-C, Ctrl-D, bad input, network errors")


def ended_cleanly(p, timeout, what, statuses=(0,)):
    code = p.must_exit(timeout, what)
    if code not in statuses or kit.crashed(code, p.text("stderr")):
        raise kit.Fail("expected your program to %s with status %s; it %s%s"
                       % (what, " or ".join(map(str, statuses)), kit.describe_status(code),
                          p.stderr_note()))
    return code


def stamp_works(ctx, s):
    c = ctx.connect(s)
    c.send("still there?")
    c.sock.settimeout(5)
    try:
        data = c.sock.recv(1024)
    except OSError as e:
        raise kit.Fail('expected the server to answer "still there?"; %s%s'
                       % (e, s.ended_note()))
    if b"still there?" not in data:
        raise kit.Fail('expected the server to answer "[<time>] still there?"; got %s%s'
                       % (kit.show(data), s.ended_note()))
    c.close()


@grader.check("server: Ctrl-C while it waits for a client")
def _(ctx):
    s = ctx.start_server("--server")
    s.signal(signal.SIGINT)
    ended_cleanly(s, 3, "end on SIGINT (Ctrl-C)")
    return "SIGINT: it ended with status 0%s" % s.stderr_note()


@grader.check("server: SIGTERM while a client is connected")
def _(ctx):
    s = ctx.start_server("--server")
    c = ctx.connect(s)
    c.send("hello")
    c.sock.settimeout(5)
    c.sock.recv(1024)
    s.signal(signal.SIGTERM)
    ended_cleanly(s, 3, "end on SIGTERM while a client is connected and silent")
    return "SIGTERM with a client connected: it ended with status 0"


@grader.check("server: a client that resets its connection")
def _(ctx):
    s = ctx.start_server("--server")
    for _ in range(3):
        c = ctx.connect(s)
        c.send("x" * 2000)
        c.reset()  # RST, perhaps while the server is writing its answer
    time.sleep(0.3)
    stamp_works(ctx, s)
    return "three clients reset their connections; the next one was answered"


@grader.check("server: clients that leave without a word")
def _(ctx):
    s = ctx.start_server("--server")
    for _ in range(5):
        ctx.connect(s).close()
    stamp_works(ctx, s)
    return "five clients connected and left at once; the next one was answered"


@grader.check("server: a port already in use")
def _(ctx):
    busy = ctx.listen()
    port = busy.getsockname()[1]
    p = ctx.start("--server", "--host", "127.0.0.1", "--port", str(port))
    code = p.must_exit(5, "refuse a port another program listens on")
    if code == 0 or kit.crashed(code, p.text("stderr")) or not p.text("stderr").strip():
        raise kit.Fail("expected a message on stderr and a non-zero status when port %d is in "
                       "use; your program %s%s" % (port, kit.describe_status(code), p.stderr_note()))
    return "port in use: it exited with status %d%s" % (code, p.stderr_note())


def client_and_server(ctx):
    listener = ctx.listen()
    p = ctx.start("--host", "127.0.0.1", "--port", str(listener.getsockname()[1]))
    return p, ctx.accept(listener, p)


@grader.check("client: Ctrl-D (end of input)")
def _(ctx):
    p, conn = client_and_server(ctx)
    p.close_stdin()
    ended_cleanly(p, 3, "end at the end of input (Ctrl-D)")
    return "at the end of input it ended with status 0"


@grader.check("client: no server there")
def _(ctx):
    p = ctx.start("--host", "127.0.0.1", "--port", str(kit.free_port()))
    code = p.must_exit(5, "give up when nothing listens")
    if code == 0 or kit.crashed(code, p.text("stderr")) or not p.text("stderr").strip():
        raise kit.Fail("expected a message on stderr and a non-zero status; your program %s%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "no server: it exited with status %d%s" % (code, p.stderr_note())


@grader.check("client: the server resets the connection")
def _(ctx):
    p, conn = client_and_server(ctx)
    p.write("hello\n")
    conn.sock.settimeout(5)
    conn.sock.recv(1024)
    conn.reset()
    p.write("anyone?\n", strict=False)  # it may have noticed the reset already
    code = p.must_exit(5, "end when the server resets the connection")
    if kit.crashed(code, p.text("stderr")):
        raise kit.Fail("the server reset the connection; expected a message and an exit, not a "
                       "crash; your program %s%s" % (kit.describe_status(code), p.stderr_note()))
    return "the server reset the connection: it exited with status %d%s" % (code, p.stderr_note())


@grader.check("client: Ctrl-C at the prompt")
def _(ctx):
    p, conn = client_and_server(ctx)
    p.write("hello\n")
    conn.sock.settimeout(5)
    conn.sock.recv(1024)
    conn.send("[Fri Nov 27 12:05:44 2026] hello")
    p.wait_output(r"hello", 5)
    time.sleep(0.2)  # at the prompt now
    p.signal(signal.SIGINT)
    code = p.must_exit(3, "end on Ctrl-C (SIGINT)")
    if kit.crashed(code, p.text("stderr")):
        raise kit.Fail("expected your program to catch Ctrl-C (SIGINT) and end by itself; it %s%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "Ctrl-C at the prompt: it ended with status %d%s" % (code, p.stderr_note())


if __name__ == "__main__":
    grader.main()
