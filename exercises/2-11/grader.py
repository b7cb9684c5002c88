"""Grader of exercise 2-11: a web client writing a page into a file. The web server is Python's
http.server, started by the grader on 127.0.0.1: nothing goes to the internet."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import kit  # noqa: E402

grader = kit.Grader("2-11", "a web client")
HELLO = b"<html><body><h1>Hello from the grader</h1>\n<p>line two</p></body></html>\n"
INDEX = b"<html><body>the index page</body></html>\n"


def site(ctx):
    folder = os.path.join(ctx.scratch, "site")
    os.makedirs(folder)
    rnd = random.Random(211)
    files = {"hello.html": HELLO, "index.html": INDEX,
             "big.bin": bytes(rnd.randrange(256) for _ in range(300_000)) + b"\0\r\n\r\n\0"}
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    port, requests = ctx.http_server(folder)
    return port, requests, files


def fetch(ctx, port, *args):
    out = os.path.join(ctx.scratch, "out.html")
    p = ctx.start("--host", "127.0.0.1", "--port", str(port), *args, "--output", out)
    code = p.must_exit(10, "fetch the page and end")
    return p, code, out


def expect_file(p, code, out, expected, what):
    if code != 0:
        raise kit.Fail("expected %s written and status 0; your program %s%s"
                       % (what, kit.describe_status(code), p.stderr_note()))
    if not os.path.exists(out):
        raise kit.Fail("expected %s written to the --output file; no file was written" % what)
    with open(out, "rb") as f:
        got = f.read()
    if got != expected:
        where = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                     min(len(got), len(expected)))
        raise kit.Fail("expected the file to hold %s exactly (%d bytes); it holds %d bytes, "
                       "different from byte %d on: %s (only the page: no headers; read until "
                       "the server closes)" % (what, len(expected), len(got), where,
                                               kit.show(got[max(0, where - 10):where + 40])))


@grader.check("a page is written to the file")
def _(ctx):
    port, _, files = site(ctx)
    p, code, out = fetch(ctx, port, "--path", "/hello.html")
    expect_file(p, code, out, HELLO, "/hello.html")
    return "/hello.html arrived whole in the file (%d bytes)" % len(HELLO)


@grader.check("the request is a proper GET")
def _(ctx):
    port, requests, _ = site(ctx)
    fetch(ctx, port, "--path", "/hello.html")
    if not requests:
        raise kit.Fail("expected a request \"GET /hello.html HTTP/1.0\" (or 1.1); the web "
                       "server understood none")
    line, headers = requests[0]
    if not line.startswith("GET /hello.html HTTP/1."):
        raise kit.Fail('expected the request line "GET /hello.html HTTP/1.0"; got %s'
                       % kit.show(line))
    if "host" not in headers:
        raise kit.Fail('the request %s has no "Host:" header (HTTP/1.1 needs it, and the web '
                       "needs it to pick a site)" % kit.show(line))
    return "the web server got %s with Host: %s" % (kit.show(line), headers["host"])


@grader.check("a large binary file arrives whole")
def _(ctx):
    port, _, files = site(ctx)
    p, code, out = fetch(ctx, port, "--path", "/big.bin")
    expect_file(p, code, out, files["big.bin"], "/big.bin")
    return "/big.bin (%d bytes, with NULs and CR LF inside) arrived whole" % len(files["big.bin"])


@grader.check("without --path the client fetches /")
def _(ctx):
    port, _, files = site(ctx)
    p, code, out = fetch(ctx, port)
    expect_file(p, code, out, INDEX, "the page at / (index.html)")
    return "no --path: / was fetched"


@grader.check("the status line is printed")
def _(ctx):
    port, _, _ = site(ctx)
    p, code, out = fetch(ctx, port, "--path", "/hello.html")
    p.wait_output(r"HTTP/1\.\d 200", 1, what='the status line "HTTP/1.0 200 OK"')
    return "it printed %s" % kit.show(p.text().strip().splitlines()[0])


@grader.check("a page that is not there")
def _(ctx):
    port, _, _ = site(ctx)
    p, code, out = fetch(ctx, port, "--path", "/no-such-page.html")
    if code == 0 or kit.crashed(code, p.text("stderr")):
        raise kit.Fail("the server answered 404 Not Found; expected a non-zero status and a "
                       "message; your program %s%s" % (kit.describe_status(code), p.stderr_note()))
    if os.path.exists(out):
        raise kit.Fail("the server answered 404 Not Found; expected no file written; the error "
                       "page was written to the file")
    return "404: it exited with status %d and wrote no file" % code


@grader.check("no web server there")
def _(ctx):
    p, code, out = fetch(ctx, kit.free_port(), "--path", "/")
    if code == 0 or kit.crashed(code, p.text("stderr")) or not p.text("stderr").strip():
        raise kit.Fail("expected a message on stderr and a non-zero status; your program %s%s"
                       % (kit.describe_status(code), p.stderr_note()))
    return "nothing listening: it exited with status %d%s" % (code, p.stderr_note())


if __name__ == "__main__":
    grader.main()
