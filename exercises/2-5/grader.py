"""Grader of exercise 2-5: a server answering date, os, ls and ls DIR."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-5", "a server answering date, os, ls and ls DIR")
CTIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


def server(ctx):
    """The student's server, run in a folder holding a.txt, b.txt and notes/todo.txt."""
    folder = os.path.join(ctx.scratch, "files")
    os.makedirs(os.path.join(folder, "notes"))
    for name in ("a.txt", "b.txt", os.path.join("notes", "todo.txt")):
        with open(os.path.join(folder, name), "w") as f:
            f.write("x\n")
    s = ctx.start_server(cwd=folder)
    return s, ctx.connect(s)


def expect(conn, command, ok, expected):
    reply = conn.ask(command)
    if not ok(reply):
        raise kit.Fail('sent "%s"; expected %s; got %s' % (command, expected, kit.show(reply)))
    return 'sent "%s", got %s' % (command, kit.show(reply))


def is_now(reply):
    if not CTIME.match(reply):
        return False
    then = time.mktime(time.strptime(reply, "%a %b %d %H:%M:%S %Y"))
    return abs(then - time.time()) < 120


@grader.check("date")
def _(ctx):
    _, c = server(ctx)
    return expect(c, "date", is_now, 'the time now as ctime() writes it, "Fri Nov 27 12:05:44 2026"')


@grader.check("os")
def _(ctx):
    _, c = server(ctx)
    return expect(c, "os", lambda r: r == "posix", '"posix" (Python\'s os.name)')


@grader.check("ls")
def _(ctx):
    _, c = server(ctx)
    return expect(c, "ls", lambda r: r == "a.txt b.txt notes",
                  '"a.txt b.txt notes": the names in the server\'s folder, sorted, one space apart')


@grader.check("ls DIR")
def _(ctx):
    _, c = server(ctx)
    return expect(c, "ls notes", lambda r: r == "todo.txt", '"todo.txt"')


@grader.check("ls of a folder that is not there")
def _(ctx):
    s, c = server(ctx)
    said = expect(c, "ls no-such-folder", lambda r: r.startswith("error"),
                  'a line starting "error"')
    expect(c, "os", lambda r: r == "posix", '"posix" after the error (the server goes on)')
    return said + ", and the next command was answered"


@grader.check("anything else gets a timestamp")
def _(ctx):
    _, c = server(ctx)
    return expect(c, "hello there", lambda r: re.match(r"^\[[^\]]+\] hello there$", r),
                  '"[<time>] hello there", as the timestamp server answers')


@grader.check("many commands, two connections")
def _(ctx):
    s, c = server(ctx)
    expect(c, "date", is_now, "the time now")
    expect(c, "ls", lambda r: r == "a.txt b.txt notes", '"a.txt b.txt notes"')
    c.close()
    c2 = ctx.connect(s)
    expect(c2, "os", lambda r: r == "posix", '"posix" on a second connection, after the first closed')
    return "date and ls on one connection, then os on a second one: all answered"


if __name__ == "__main__":
    grader.main()
