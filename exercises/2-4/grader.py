"""Grader of exercise 2-4: the timestamp clients take --host and --port, with defaults."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-4", "the clients take --host and --port")


def talk(ctx, args, udp, lines=("hello",)):
    """Runs the client with `args` against the grader's timestamp server, types `lines`,
    expects each back as "[<time>] <line>", then the end of input must end the client."""
    port = ctx.timestamp_server(udp=udp)
    argv = [a.replace("PORT", str(port)) for a in args]
    p = ctx.start(*argv)
    for line in lines:
        p.write(line + "\n")
        p.wait_output(r"\[[^\]]+\] " + line, 5, what='the server\'s reply "[<time>] %s"' % line)
    p.close_stdin()
    code = p.must_exit(5, "end at the end of its input (Ctrl-D)")
    if code != 0:
        raise kit.Fail("the replies came, but at the end of input your program %s, expected "
                       "status 0%s" % (kit.describe_status(code), p.stderr_note()))
    return "ran `client %s`, typed %s; every reply was printed, then it ended" % (
        " ".join(argv), ", ".join(kit.show(l) for l in lines))


@grader.check("TCP with --host and --port")
def _(ctx):
    return talk(ctx, ["--host", "127.0.0.1", "--port", "PORT"], udp=False)


@grader.check("TCP with --port only (host defaults to localhost)")
def _(ctx):
    return talk(ctx, ["--port", "PORT"], udp=False)


@grader.check("TCP, several lines on one connection")
def _(ctx):
    return talk(ctx, ["--host", "127.0.0.1", "--port", "PORT"], False, ("one", "two", "three"))


@grader.check("UDP with --udp, --host and --port")
def _(ctx):
    return talk(ctx, ["--udp", "--host", "127.0.0.1", "--port", "PORT"], udp=True)


@grader.check("UDP with --udp and --port only")
def _(ctx):
    return talk(ctx, ["--udp", "--port", "PORT"], udp=True, lines=("ping", "pong"))


@grader.check("a bad --port is refused with a message")
def _(ctx):
    p = ctx.start("--host", "127.0.0.1", "--port", "http80")
    p.close_stdin()
    code = p.must_exit(5, "refuse --port http80 and end")
    if code == 0 or kit.crashed(code, p.text("stderr")) or not p.text("stderr").strip():
        raise kit.Fail("expected a message on stderr and a non-zero exit status for --port "
                       "http80; your program %s%s" % (kit.describe_status(code), p.stderr_note()))
    return "--port http80: it said %s and exited with status %d" % (
        kit.show(p.text("stderr").strip(), 80), code)


@grader.check("no server there: a message, not a crash")
def _(ctx):
    port = kit.free_port()  # nothing listens there
    p = ctx.start("--host", "127.0.0.1", "--port", str(port))
    p.write("hello\n", strict=False)  # it may have given up already
    p.close_stdin()
    code = p.must_exit(5, "give up when nothing listens on the port")
    if code == 0 or kit.crashed(code, p.text("stderr")):
        raise kit.Fail("expected a message on stderr and a non-zero exit status when nothing "
                       "listens on 127.0.0.1:%d; your program %s%s"
                       % (port, kit.describe_status(code), p.stderr_note()))
    return "nothing on port %d: it exited with status %d%s" % (port, code, p.stderr_note())


if __name__ == "__main__":
    grader.main()
