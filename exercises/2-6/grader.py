"""Grader of exercise 2-6: the UDP daytime server and its client (getservbyname)."""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-6", "the UDP daytime service")
CTIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
FIXED = "Tue Jan 13 10:00:00 2026"  # what the grader's own daytime server answers


def is_now(text):
    if not CTIME.match(text):
        return False
    return abs(time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Y")) - time.time()) < 120


def server_answer(ctx, server, data):
    reply = ctx.udp_ask(server, data).decode("utf-8", "replace")
    if not is_now(reply.strip()):
        raise kit.Fail('sent the datagram %s; expected the time now as ctime() writes it '
                       '("%s", then "\\r\\n" or nothing); got %s'
                       % (kit.show(data), time.ctime(), kit.show(reply)))
    return reply


@grader.check("the server answers a datagram with the time")
def _(ctx):
    s = ctx.start_server("--server", udp=True)
    return "got %s" % kit.show(server_answer(ctx, s, b"what time is it?"))


@grader.check("the server answers an empty datagram and several clients")
def _(ctx):
    s = ctx.start_server("--server", udp=True)
    server_answer(ctx, s, b"first")
    server_answer(ctx, s, b"")
    server_answer(ctx, s, b"x" * 500)
    return "three clients (one sending an empty datagram) each got the time"


def daytime_server(ctx, answer=True):
    """The grader's daytime server on 127.0.0.1 (UDP): answers FIXED, or never."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((kit.LOOPBACK, 0))
    s.settimeout(0.2)
    stop = threading.Event()
    got = []

    def serve():
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(1024)
            except (socket.timeout, OSError):
                continue
            got.append(data)
            if answer:
                s.sendto((FIXED + "\r\n").encode(), addr)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ctx.at_end(s.close)
    ctx.at_end(lambda: (stop.set(), t.join(2)))
    return s.getsockname()[1], got


@grader.check("the client prints the server's answer")
def _(ctx):
    port, got = daytime_server(ctx)
    p = ctx.start("--host", "127.0.0.1", "--port", str(port))
    p.wait_output(re.escape(FIXED), 5, what='the server\'s answer "%s"' % FIXED)
    code = p.must_exit(5, "end after printing the answer")
    if code != 0:
        raise kit.Fail("it printed the answer, then %s; expected status 0%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "it sent %s, printed %s and exited with status 0" % (kit.show(got[0]), kit.show(FIXED))


@grader.check("the client gives up when no answer comes")
def _(ctx):
    port, got = daytime_server(ctx, answer=False)
    p = ctx.start("--host", "127.0.0.1", "--port", str(port), "--timeout", "1")
    code = p.must_exit(5, "give up (--timeout 1) when the server never answers")
    if code == 0 or kit.crashed(code, p.text("stderr")) or not p.text("stderr").strip():
        raise kit.Fail("expected a message on stderr and a non-zero status when no answer "
                       "comes; your program %s%s" % (kit.describe_status(code), p.stderr_note()))
    return "no answer within --timeout 1: it exited with status %d%s" % (code, p.stderr_note())


@grader.check("without --port the client asks getservbyname for daytime/udp")
def _(ctx):
    try:
        expected = socket.getservbyname("daytime", "udp")
    except OSError:
        return "this machine has no daytime service in /etc/services: nothing to compare"
    p = ctx.start("--host", "127.0.0.1", "--timeout", "1")
    p.wait_output(r"port %d\b" % expected, 5, stream="stderr",
                  what='"using port %d" (the port getservbyname gives)' % expected)
    return "it said %s on stderr" % kit.show(p.text("stderr").strip().splitlines()[0])


if __name__ == "__main__":
    grader.main()
