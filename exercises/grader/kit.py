"""kit.py - what every exercise's grader shares (Python 3 standard library only).

A grader is a list of checks. Each check starts the student's program (as a server or a
client), talks to it over 127.0.0.1 only, and either returns a sentence saying what worked or
raises Fail with a sentence saying what was expected and what came back. Everything here is
bounded: every wait has a timeout, every program the grader starts runs in its own process
group and is killed (the whole group) when its check ends, and a watchdog ends a check that
runs too long. Nothing in this file talks to an address other than 127.0.0.1.

    grader = kit.Grader("2-12", "the sleep server")

    @grader.check("sleep 1 is answered after about a second")
    def _(ctx):
        server = ctx.start_server()
        conn = ctx.connect(server.port)
        ...
        return "sent \"sleep 1\"; the reply came after 1.0 s"

    if __name__ == "__main__":
        grader.main()
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

LOOPBACK = "127.0.0.1"
OUTPUT_CAP = 1 << 20  # bytes of a program's stdout/stderr kept; more is read and dropped
CHECK_LIMIT = 40.0  # seconds one check may take, whatever the program does
COMPILE_LIMIT = 300.0  # seconds the compiler may take


class Fail(Exception):
    """A check failed: the message says what was expected and what came back."""


class _Watchdog(Exception):
    pass


def show(data, limit=120):
    """Text as the student should read it in a message: quoted, escaped, shortened."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    text = repr(data)[1:-1].replace('"', '\\"')
    if len(text) > limit:
        text = text[:limit] + "..."
    return '"' + text + '"'


def free_port(kind=socket.SOCK_STREAM):
    """A port nobody uses on 127.0.0.1 now (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def listening(port):
    """True when a TCP socket listens on `port` (of 127.0.0.1 or of every address). Read from
    /proc/net/tcp*, so that no probe connection reaches the student's server (a server that
    serves one client at a time would take the probe for its client); where /proc cannot be
    read, a connection is the probe."""
    found_table = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    if found_table:
        return False
    try:
        socket.create_connection((LOOPBACK, port), timeout=1).close()
        return True
    except OSError:
        return False


# --- the student's program ------------------------------------------------------------------


class Program:
    """A running student program: its stdin, what it printed, how it ended.

    It runs in a new session (its own process group); kill() ends the whole group, so a
    program that forks or starts threads cannot outlive its check."""

    def __init__(self, argv, cwd=None, stdin=True):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._out = {"stdout": bytearray(), "stderr": bytearray()}
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for t in self._readers:
            t.start()
        self.port = None  # set by Context.start_server

    def _drain(self, pipe, name):
        while True:
            try:
                chunk = os.read(pipe.fileno(), 65536)
            except (OSError, ValueError):  # ValueError: closed by kill()
                chunk = b""
            with self._cond:
                if not chunk:
                    self._out[name + "_closed"] = True
                    self._cond.notify_all()
                    return
                buf = self._out[name]
                if len(buf) < OUTPUT_CAP:
                    buf += chunk[: OUTPUT_CAP - len(buf)]
                self._cond.notify_all()

    def text(self, stream="stdout"):
        with self._cond:
            return self._out[stream].decode("utf-8", "replace")

    def wait_output(self, pattern, timeout=5.0, stream="stdout", start=0, what=None):
        """Waits until `stream` (from character `start`) matches the regex `pattern`; returns
        the match. Raises Fail naming what was expected and what was printed."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = self._out[stream].decode("utf-8", "replace")
                m = rx.search(text, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._out.get(stream + "_closed"):
                    break
                self._cond.wait(min(left, 0.1))
        got = text[start:]
        raise Fail(
            "expected your program to print %s on %s within %g s; it printed %s%s"
            % (what or show(pattern), stream, timeout,
               show(got, 200) if got else "nothing", self.ended_note())
        )

    def write(self, text, strict=True):
        """Types `text` on the program's stdin. A program that stopped reading: Fail, unless
        not `strict` (a check that expects the program may end at once)."""
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            if not strict:
                return
            raise Fail("tried to type %s on your program's input, but it had stopped reading%s"
                       % (show(text), self.ended_note()))

    def close_stdin(self):
        """The end of input: what Ctrl-D does at a terminal."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def signal(self, signo):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signo)

    def wait_exit(self, timeout):
        """The exit status (negative: killed by that signal), or None if still running."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._readers:  # what it printed last is read before anyone looks
            t.join(2)
        return code

    def must_exit(self, timeout, what):
        """The exit status once the program ended by itself within `timeout`; else Fail:
        "expected your program to <what> within N s; it was still running"."""
        code = self.wait_exit(timeout)
        if code is None:
            raise Fail("expected your program to %s within %g s; it was still running "
                       "(the grader stopped it)" % (what, timeout))
        return code

    def running(self):
        return self.proc.poll() is None

    def ended_note(self):
        """'' while it runs; else '; your program ... (stderr: ...)'."""
        code = self.proc.poll()
        if code is None and self._out.get("stdout_closed"):
            code = self.wait_exit(1)  # its output ended: it is ending, let it
        if code is None:
            return ""
        for t in self._readers:  # the last of its stderr
            t.join(1)
        return "; your program " + describe_status(code) + self.stderr_note()

    def stderr_note(self):
        err = self.text("stderr").strip()
        if not err:
            return ""
        return " (its stderr ends: %s)" % show(err[-300:], 300)

    def kill(self):
        """Ends the program and everything it started (its process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for t in self._readers:  # the group is gone: the pipes end
            t.join(1)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass


def describe_status(code):
    if code is None:
        return "is still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "signal %d" % -code
        crash = {"SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL"}
        return "was killed by %s%s" % (name, " (a crash)" if name in crash else "")
    return "exited with status %d" % code


def crashed(code, stderr):
    """True for an end a student should not hand in: killed by a signal, or an exception
    nobody caught (std::terminate prints 'terminate called')."""
    return code is None or code < 0 or "terminate called" in stderr


# --- a connection from the grader -------------------------------------------------------------


class Conn:
    """A TCP connection from the grader to the student's server on 127.0.0.1, read by lines;
    every read has a timeout."""

    def __init__(self, port, timeout=5.0, program=None):
        self.port = port
        self.program = program
        self.buf = b""
        self.eof = False
        try:
            self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        except OSError as e:
            raise Fail("could not connect to 127.0.0.1:%d (%s)%s"
                       % (port, e.strerror or e, program.ended_note() if program else ""))
        self.local_port = self.sock.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Fail("sending %s to your server failed: %s%s"
                       % (show(data), e.strerror or e, self._note()))

    def _note(self):
        return self.program.ended_note() if self.program else ""

    def read_line(self, timeout=5.0, what="a line"):
        """One line without its '\\n' (and '\\r'). Raises Fail on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                got = ("only %s" % show(self.buf)) if self.buf else "nothing"
                why = "the connection was closed" if self.eof else "waited %g s" % timeout
                hint = "" if self.buf or self.eof else ": did your program flush (or send) it?"
                if self.buf and not self.eof:
                    hint = ": the line never ended with \\n"
                raise Fail("expected %s; %s and got %s%s%s"
                           % (what, why, got, hint, self._note()))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise Fail("expected %s; the connection failed: %s%s"
                           % (what, e.strerror or e, self._note()))
            if not chunk:
                self.eof = True
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")

    def ask(self, line, timeout=5.0, what=None):
        """Sends `line` + '\\n' and returns the reply line."""
        self.send(line + "\n")
        try:
            return self.read_line(timeout, what or "a reply")
        except Fail as e:
            raise Fail("sent %s; %s" % (show(line), e))

    def expect_stamp(self, line, timeout=5.0, send=True):
        """Sends `line` + '\n' (unless send=False: already sent) and expects the timestamp
        server's answer "[<time>] <line>"."""
        if send:
            self.send(line + "\n")
        reply = self.read_line(timeout, 'the answer "[<time>] %s"' % line)
        if not re.match(r"^\[[^\]]+\] " + re.escape(line) + "$", reply):
            raise Fail('sent "%s"; expected the answer "[<time>] %s"; got %s'
                       % (line, line, show(reply)))
        return reply

    def closed_within(self, timeout):
        """True when the peer closes the connection within `timeout` (data before it is
        dropped)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not chunk:
                self.eof = True
        return True

    def leave(self, timeout=5.0, what="the client left"):
        """Ends the connection as a client that leaves does (FIN), and waits until the
        program closes its end too: it has noticed, and is free for the next client."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if not self.closed_within(timeout):
            raise Fail("%s (closed its connection); expected your program to close its end "
                       "within %g s; it stayed open%s" % (what, timeout, self._note()))
        self.close()

    def reset(self):
        """Closes with RST instead of FIN (a client that vanishes)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- one check's world ------------------------------------------------------------------------


class Context:
    """What a check gets: the student's binary, a scratch folder, and helpers that start the
    program and clean up after it."""

    def __init__(self, binary, scratch):
        self.binary = binary
        self.scratch = scratch
        self._programs = []
        self._cleanups = []

    def start(self, *args, cwd=None, stdin=True):
        """Runs the student's program with `args` (strings)."""
        p = Program([self.binary, *args], cwd=cwd or self.scratch, stdin=stdin)
        self._programs.append(p)
        return p

    def start_server(self, *extra, cwd=None, udp=False, wait=True):
        """Runs the program as a server on a free port of 127.0.0.1 and waits (at most 10 s)
        until it accepts connections (TCP; UDP servers are probed by the check itself)."""
        for attempt in range(3):
            port = free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
            p = self.start(*extra, "--host", LOOPBACK, "--port", str(port), cwd=cwd)
            p.port = port
            if not wait or udp:
                return p
            try:
                self.wait_listening(p)
                return p
            except Fail:
                # The free port may have been taken between the grader's look and the
                # program's bind (another program on the machine): try another port.
                if attempt == 2 or p.running() or "in use" not in p.text("stderr"):
                    raise
        raise AssertionError("not reached")

    def wait_listening(self, p, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not p.running():
                raise Fail("expected your server to listen on 127.0.0.1:%d; it did not%s"
                           % (p.port, p.ended_note()))
            if listening(p.port):
                return
            time.sleep(0.05)
        raise Fail("expected your server to listen on 127.0.0.1:%d (given as --host 127.0.0.1 "
                   "--port %d) within %g s; nothing listened there: does it use --host and "
                   "--port?%s" % (p.port, p.port, timeout, p.stderr_note()))

    def connect(self, server, timeout=5.0):
        """A line connection to a started server."""
        c = Conn(server.port, timeout, server)
        self._cleanups.append(c.close)
        return c

    def udp_ask(self, server, data, timeout=5.0, tries=5):
        """Sends the datagram `data` to the student's UDP server (from a new socket) and
        returns the reply; sent again up to `tries` times (the server may still be starting).
        Fail when no reply comes."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((LOOPBACK, 0))
            for _ in range(tries):
                s.sendto(data, (LOOPBACK, server.port))
                s.settimeout(timeout / tries)
                try:
                    return s.recvfrom(65536)[0]
                except (socket.timeout, ConnectionRefusedError):
                    time.sleep(0.05)
        raise Fail("sent the datagram %s to 127.0.0.1:%d (UDP); expected a reply within %g s; "
                   "got none%s" % (show(data), server.port, timeout, server.ended_note()))

    def listen(self):
        """A listening TCP socket of the grader on 127.0.0.1 (for the student's clients)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        s.listen(16)
        self._cleanups.append(s.close)
        return s

    def accept(self, listener, program, timeout=5.0):
        """The student's client connecting to `listener`, as a Conn."""
        listener.settimeout(timeout)
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            raise Fail("expected your program to connect to 127.0.0.1:%d within %g s; it did "
                       "not%s" % (listener.getsockname()[1], timeout, program.ended_note()))
        c = Conn.__new__(Conn)
        c.port, c.program, c.buf, c.eof, c.sock = listener.getsockname()[1], program, b"", False, sock
        c.local_port = sock.getsockname()[1]
        self._cleanups.append(c.close)
        return c

    def timestamp_server(self, udp=False):
        """The book's timestamp server (tsTserv / tsUserv), run by the grader on a free port of
        127.0.0.1 in a thread: each message comes back as "[<ctime>] <message>". Returns the
        port."""
        kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
        s = socket.socket(socket.AF_INET, kind)
        s.bind((LOOPBACK, 0))
        s.settimeout(0.2)
        stop = threading.Event()

        def stamp(data):
            return ("[%s] " % time.ctime()).encode() + data

        def serve_tcp():
            s.listen(16)
            while not stop.is_set():
                try:
                    conn, _ = s.accept()
                except (socket.timeout, OSError):
                    continue
                with conn:
                    conn.settimeout(0.2)
                    while not stop.is_set():
                        try:
                            data = conn.recv(1024)
                        except socket.timeout:
                            continue
                        except OSError:
                            break
                        if not data:
                            break
                        conn.sendall(stamp(data))

        def serve_udp():
            while not stop.is_set():
                try:
                    data, addr = s.recvfrom(1024)
                except (socket.timeout, OSError):
                    continue
                s.sendto(stamp(data), addr)

        t = threading.Thread(target=serve_udp if udp else serve_tcp, daemon=True)
        t.start()
        self._cleanups.append(s.close)
        self._cleanups.append(lambda: (stop.set(), t.join(2)))
        return s.getsockname()[1]

    def http_server(self, folder):
        """Python's http.server serving `folder` on a free port of 127.0.0.1, in a thread.
        Returns (port, requests): each request as (request line, {header: value})."""
        import http.server

        requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=folder, **kw)

            def log_message(self, *args):  # the record, not stderr
                requests.append((self.requestline, {k.lower(): v for k, v in self.headers.items()}))

        httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        httpd.daemon_threads = True
        t = threading.Thread(target=httpd.serve_forever, args=(0.1,), daemon=True)
        t.start()
        self._cleanups.append(httpd.server_close)
        self._cleanups.append(httpd.shutdown)
        return httpd.server_address[1], requests

    def at_end(self, fn):
        self._cleanups.append(fn)

    def close(self):
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:
                pass
        for p in self._programs:
            p.kill()


# --- building the student's file ---------------------------------------------------------------


def build(source, build_dir):
    """Compiles `source` with the project's compiler and flags and links the library: the
    CMake target exercise_student (exercises/CMakeLists.txt) builds whatever file is copied
    into its slot. Returns (binary or None, message)."""
    build_dir = os.path.abspath(build_dir)
    slot_dir = os.path.join(build_dir, "exercises", "student")
    slot = os.path.join(slot_dir, "student.cpp")
    if not os.path.isdir(slot_dir):
        return None, ("the build tree %s has no exercises/student/: configure it first "
                      "(make exercise does)" % build_dir)
    shutil.copyfile(source, slot)  # a fresh mtime: the build always sees a change
    try:
        r = subprocess.run(
            ["cmake", "--build", build_dir, "--target", "exercise_student"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=COMPILE_LIMIT,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return None, "the compiler did not finish within %d s" % COMPILE_LIMIT
    out = r.stdout.decode("utf-8", "replace").replace(slot, source)
    if r.returncode != 0:
        errors = [l for l in out.splitlines() if "error" in l and "make" not in l][:8]
        return None, "it does not compile:\n      " + "\n      ".join(errors or out.splitlines()[-8:])
    return os.path.join(build_dir, "exercises", "exercise_student"), "compiled and linked"


# --- the grader ---------------------------------------------------------------------------------


class Grader:
    def __init__(self, number, title):
        self.number = number
        self.title = title
        self.checks = []

    def check(self, name):
        """Decorator: adds a check; it returns a sentence (passed) or raises Fail."""

        def add(fn):
            self.checks.append((name, fn))
            return fn

        return add

    def main(self, argv=None):
        ap = argparse.ArgumentParser(description="grade exercise %s" % self.number)
        src = ap.add_mutually_exclusive_group(required=True)
        src.add_argument("--file", help="the student's .cpp file: compiled, then graded")
        src.add_argument("--binary", help="an already built program to grade")
        ap.add_argument("--build", default="build", help="the configured build tree")
        ap.add_argument("--expect", choices=["pass", "fail"],
                        help="CI: exit 0 when every check passed (pass) or when at least one "
                             "failed (fail), 1 otherwise or when the grader itself broke")
        ap.add_argument("--quiet", action="store_true", help="print only the summary line")
        ap.add_argument("--json", help="also write the results to this file (grade_all.py)")
        args = ap.parse_args(argv)
        sys.exit(self.run(args))

    def run(self, args):
        out = (lambda *a: None) if args.quiet else print
        what = args.file or args.binary
        out("exercise %s: %s -- grading %s" % (self.number, self.title, what))
        results = []  # (name, passed, message)
        grader_broke = False
        binary = args.binary
        if args.file:
            if not os.path.isfile(args.file):
                binary, message = None, "there is no file %s" % args.file
            else:
                binary, message = build(os.path.abspath(args.file), args.build)
            results.append(("compiles", binary is not None, message))
            out(self._line(results[-1]))
        scratch_root = tempfile.mkdtemp(prefix="exercise-%s-" % self.number)
        try:
            for name, fn in self.checks:
                if binary is None:
                    results.append((name, False, "not run: the program was not built"))
                else:
                    passed, message, broke = self._run_check(fn, binary, scratch_root)
                    grader_broke |= broke
                    results.append((name, passed, message))
                out(self._line(results[-1]))
                if args.expect == "fail" and not results[-1][1]:
                    out("  (--expect fail: one failed check is the proof; the rest not run)")
                    break
        finally:
            shutil.rmtree(scratch_root, ignore_errors=True)
        failed = sum(1 for _, ok, _ in results if not ok)
        if args.json:
            with open(args.json, "w") as f:
                json.dump([{"check": n, "passed": ok, "message": m} for n, ok, m in results], f)
        print("exercise %s: %d of %d checks passed%s" % (
            self.number, len(results) - failed, len(results),
            "" if failed else " -- well done"))
        if args.expect == "pass":
            return 0 if failed == 0 and not grader_broke else 1
        if args.expect == "fail":
            if grader_broke:
                print("the grader itself broke (see GRADER BUG above)")
            return 0 if failed > 0 and not grader_broke else 1
        return min(failed, 125)

    @staticmethod
    def _line(result):
        name, passed, message = result
        return "  %s  %s: %s" % ("PASS" if passed else "FAIL", name, message)

    def _run_check(self, fn, binary, scratch_root):
        scratch = tempfile.mkdtemp(dir=scratch_root)
        ctx = Context(os.path.abspath(binary), scratch)

        def alarm(signo, frame):
            raise _Watchdog()

        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, CHECK_LIMIT)  # read here: the self-test lowers it
        try:
            message = fn(ctx)
            return True, message or "ok", False
        except Fail as e:
            return False, str(e), False
        except _Watchdog:
            return False, "the check did not finish within %g s (your program hung?)" % CHECK_LIMIT, False
        except OSError as e:  # the network or the program, not the grader
            return False, "a socket or process error: %s" % e, False
        except Exception:
            return False, "GRADER BUG (tell your teacher): " + traceback.format_exc(), True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            ctx.close()
