"""Grader of exercise 2-13: a name server with registration, lookup and pings."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-13", "a name server")


def expect(conn, request, ok, expected):
    reply = conn.ask(request)
    if not ok(reply):
        raise kit.Fail('sent "%s"; expected %s; got %s' % (request, expected, kit.show(reply)))
    return reply


def service(ctx):
    """A live service of the grader's on 127.0.0.1: accepts (and closes) every connection,
    counting them. Returns (port, counter, stop): stop() closes it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((kit.LOOPBACK, 0))
    s.listen(16)
    s.settimeout(0.1)
    pings = [0]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = s.accept()
                conn.close()
                pings[0] += 1
            except (socket.timeout, OSError):
                pass
        s.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()

    def end():
        stop.set()
        t.join(2)

    ctx.at_end(end)
    return s.getsockname()[1], pings, end


def register(conn, name, port):
    expect(conn, "register %s 127.0.0.1 %d a service of the grader" % (name, port),
           lambda r: r == "ok", '"ok"')


def found(conn, name, port):
    expect(conn, "lookup " + name, lambda r: r.split() == ["found", "127.0.0.1", str(port)],
           '"found 127.0.0.1 %d"' % port)


@grader.check("register, then lookup")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    port, _, _ = service(ctx)
    register(c, "time", port)
    found(c, "time", port)
    return "register time 127.0.0.1 %d -> ok; lookup time -> found 127.0.0.1 %d" % (port, port)


@grader.check("lookup of an unknown name")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    expect(c, "lookup nobody", lambda r: r == "notfound", '"notfound"')
    return 'lookup nobody -> "notfound"'


@grader.check("bad requests get an error, and the server goes on")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    for bad in ("register x 127.0.0.1 notaport", "register x 127.0.0.1 70000",
                "register onlyname", "hello", "lookup"):
        expect(c, bad, lambda r: r.startswith("error"), 'a line starting "error"')
    expect(c, "lookup x", lambda r: r == "notfound", '"notfound" (x was never registered)')
    return "five bad requests were each answered with an error; nothing was registered"


@grader.check("a registration is seen by every client")
def _(ctx):
    s = ctx.start_server()
    port, _, _ = service(ctx)
    register(ctx.connect(s), "echo", port)
    found(ctx.connect(s), "echo", port)
    return "one client registered echo; another client, on its own connection, found it"


@grader.check("registering again replaces the address")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    port1, _, _ = service(ctx)
    port2, _, _ = service(ctx)
    register(c, "web", port1)
    register(c, "web", port2)
    found(c, "web", port2)
    return "web registered at %d, then at %d: lookup gives %d" % (port1, port2, port2)


@grader.check("the server pings a live service and keeps it")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    port, pings, _ = service(ctx)
    register(c, "alive", port)
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and pings[0] < 3:
        time.sleep(0.1)
    if pings[0] < 2:
        raise kit.Fail("registered a live service; expected the name server to ping it "
                       "(connect to 127.0.0.1:%d) about once a second; in 6 s it connected %d "
                       "time(s)" % (port, pings[0]))
    found(c, "alive", port)
    return "the name server pinged the live service %d times in a few seconds and kept it" % pings[0]


@grader.check("a service that stops is delisted")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    port, _, stop = service(ctx)
    register(c, "mortal", port)
    found(c, "mortal", port)
    stop()  # the service ends: its pings fail from now on
    t0 = time.monotonic()
    while time.monotonic() - t0 < 12:
        if c.ask("lookup mortal") == "notfound":
            return "the service stopped; %.1f s later lookup said notfound" % (time.monotonic() - t0)
        time.sleep(0.5)
    raise kit.Fail("the service on 127.0.0.1:%d stopped; expected it delisted (lookup "
                   "\"notfound\") after three failed pings, within 12 s; it was still listed"
                   % port)


if __name__ == "__main__":
    grader.main()
