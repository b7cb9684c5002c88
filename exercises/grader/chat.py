"""What the two-person chat graders (2-7, 2-8) share: the student's program in either role,
with the grader as the other person."""
import re

import kit


def as_server(ctx):
    """The student's program as the chat server, and the grader connected to it as the
    client: (program, connection)."""
    s = ctx.start_server("--server")
    return s, ctx.connect(s)


def as_client(ctx):
    """The grader as the chat server, and the student's program connected to it:
    (program, connection)."""
    listener = ctx.listen()
    p = ctx.start("--host", kit.LOOPBACK, "--port", str(listener.getsockname()[1]))
    return p, ctx.accept(listener, p)


def printed(p, text, start=0, timeout=5):
    """The program printed a line holding `text`; returns where the search may go on."""
    return p.wait_output(r"[^\n]*" + re.escape(text), timeout, start=start,
                         what='a line with "%s" (what the other person said)' % text).end()


def received(conn, text, timeout=5):
    """The other person's program sent a line holding `text`."""
    line = conn.read_line(timeout, 'a line with "%s" (what its user typed)' % text)
    if text not in line:
        raise kit.Fail('expected the line typed by the user, "%s"; got %s' % (text, kit.show(line)))
    return line


def ends_at_end_of_input(p, conn):
    p.close_stdin()
    if not conn.closed_within(3):
        raise kit.Fail("the user's input ended (Ctrl-D); expected the program to close the "
                       "connection within 3 s; it stayed open%s" % p.ended_note())
    code = p.must_exit(3, "end at the end of its input")
    if code != 0:
        raise kit.Fail("at the end of input it closed the connection, then %s; expected "
                       "status 0%s" % (kit.describe_status(code), p.stderr_note()))
    return "at the end of input it closed the connection and ended with status 0"
