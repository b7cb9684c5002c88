"""Grader of exercise 2-12: the sleep server."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-12", "the sleep server")


def timed(conn, request, start, limit):
    """Sends `request`, returns (reply, seconds it took); Fail when no line comes in `limit`."""
    t0 = time.monotonic()
    reply = conn.ask(request, limit, 'a reply starting "%s" within %g s' % (start, limit))
    took = time.monotonic() - t0
    if not reply.startswith(start):
        raise kit.Fail('sent "%s"; expected a reply starting "%s"; got %s'
                       % (request, start, kit.show(reply)))
    return reply, took


def slept(ctx, seconds, text):
    s = ctx.start_server()
    c = ctx.connect(s)
    reply, took = timed(c, "sleep " + text, "ok", seconds + 3)
    if took < seconds * 0.9:
        raise kit.Fail('sent "sleep %s"; expected the reply after %g s; it came after %.2f s: '
                       'did the server sleep?' % (text, seconds, took))
    return 'sent "sleep %s"; got %s after %.2f s' % (text, kit.show(reply), took)


@grader.check("sleep 1 is answered after a second")
def _(ctx):
    return slept(ctx, 1, "1")


@grader.check("sleep 0 is answered at once")
def _(ctx):
    return slept(ctx, 0, "0")


@grader.check("sleep 0.5 (a fraction of a second)")
def _(ctx):
    return slept(ctx, 0.5, "0.5")


@grader.check("a request that is not \"sleep N\" gets an error, and the server goes on")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    said = []
    for bad in ("sleep abc", "sleep", "wake up", "sleep 2x"):
        reply, _ = timed(c, bad, "error", 2)
        said.append("%s -> %s" % (kit.show(bad), kit.show(reply, 40)))
    timed(c, "sleep 0", "ok", 2)
    return "; ".join(said) + "; then sleep 0 -> ok"


@grader.check("N below 0 or above 60 is refused")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    for bad in ("sleep -1", "sleep 1000", "sleep 61"):
        timed(c, bad, "error", 2)
    return "sleep -1, sleep 1000 and sleep 61 were each answered with an error at once"


@grader.check("two clients sleep at the same time")
def _(ctx):
    s = ctx.start_server()
    conns = [ctx.connect(s), ctx.connect(s)]
    results = [None, None]

    def ask(i):
        try:
            results[i] = timed(conns[i], "sleep 2", "ok", 6)
        except kit.Fail as e:
            results[i] = e

    t0 = time.monotonic()
    threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(8)
    total = time.monotonic() - t0
    for r in results:
        if isinstance(r, kit.Fail) or r is None:
            raise kit.Fail("two clients each sent \"sleep 2\" at once; expected both answered; %s"
                           % (r or "one never was"))
    if total > 3.6:
        raise kit.Fail('two clients each sent "sleep 2" at once; expected both answers within '
                       '3.6 s; the last came after %.1f s: the server served one client after '
                       'the other (use a threading server)' % total)
    return 'two clients each sent "sleep 2" at once; both answered after %.1f s' % total


@grader.check("a client that leaves while it sleeps does not stop the server")
def _(ctx):
    s = ctx.start_server()
    c = ctx.connect(s)
    c.send("sleep 1\n")
    c.close()
    time.sleep(1.5)
    reply, _ = timed(ctx.connect(s), "sleep 0", "ok", 3)
    return 'a client sent "sleep 1" and left; the next one got %s' % kit.show(reply)


if __name__ == "__main__":
    grader.main()
