#!/usr/bin/env python3
"""The benchmark runner: builds the load generator, this project's bench servers and the anchor
servers, starts each server on 127.0.0.1 (port 0: the server prints "PORT n"), runs the load
generator for each workload, stops exactly the processes it started (by PID: SIGTERM, then SIGKILL
after a bound), and writes bench/results/latest.json, latest.md and latest.png.

    python3 bench/run.py [--quick] [--only SERVER[,SERVER]] [--workload W[,W]] [--reps N]
                         [--duration S] [--warmup S] [--no-build] [--update-readme]

Loopback only; every run is bounded in time. See bench/README.md for what the figures mean.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, "build-bench")
ANCHOR_SRC = os.path.join(BENCH, "anchors")
ANCHOR_BUILD = os.path.join(BUILD, "anchors")
RESULTS = os.path.join(BENCH, "results")
LOGS = os.path.join(BUILD, "logs")
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
SYS_PYTHON = "/usr/bin/python3"  # Debian's, with python3-twisted (not the pyenv one on PATH)
HOST = "127.0.0.1"
# The TLS servers' certificate: ECDSA P-256 for 127.0.0.1/localhost, made by make_tls_files().
TLS_DIR = os.path.join(BUILD, "tls")
TLS_CERT = os.path.join(TLS_DIR, "cert.pem")
TLS_KEY = os.path.join(TLS_DIR, "key.pem")
TLS_ARGS = ["--tls-cert", TLS_CERT, "--tls-key", TLS_KEY]

# ---------------------------------------------------------------------------------------------
# What is measured

# key -> (loadgen workload, connections, extra loadgen arguments, table title)
WORKLOADS = {
    "pingpong16": ("pingpong", 16, [], "pingpong, 16 connections"),
    "pingpong128": ("pingpong", 128, [], "pingpong, 128 connections"),
    "churn16": ("churn", 16, ["--sources", "16"], "churn (a connection per request), 16 at a time"),
    "udp16": ("udp", 16, [], "UDP, 16 clients"),
    "idle10000": ("idle", 1, ["--idle", "10000"], "10 000 idle connections, then one request each"),
    "tls-pingpong16": ("pingpong", 16, ["--tls"], "pingpong over TLS, 16 established connections"),
    "tls-pingpong128": ("pingpong", 128, ["--tls"], "pingpong over TLS, 128 established connections"),
    "tls-handshake": ("churn", 16, ["--sources", "16", "--tls"],
                      "a full TLS handshake (ECDSA P-256) per request, 16 at a time"),
    "tls-resumed": ("churn", 16, ["--sources", "16", "--tls-resume"],
                    "a resumed TLS handshake per request, 16 at a time"),
}
TCP_WORKLOADS = ["pingpong16", "pingpong128", "churn16"]
TLS_WORKLOADS = ["tls-pingpong16", "tls-pingpong128", "tls-handshake", "tls-resumed"]


class Server:
    def __init__(self, name, label, kind, cmd, workloads, group, build=None, skip=None,
                 proxy=None):
        self.name = name          # as --only takes it and as the tables show it
        self.label = label        # what it is
        self.kind = kind          # "tcp", "tls" (the same protocol over TLS) or "udp"
        self.cmd = cmd            # argv (the runner adds --host/--port)
        self.workloads = workloads
        self.group = group        # "socketserver-cpp" or "anchor"
        self.build = build        # ("ss", target) or ("anchor", target) or ("python", module)
        self.skip = skip or {}    # workload -> why it is not run
        self.unavailable = None   # why the server cannot run at all (set by the build step)
        self.proxy = proxy        # "v1"/"v2": behind a balancer; the load generator sends the
                                  # PROXY header (loadgen --proxy) and so does the check


def bin_ss(name):
    return os.path.join(BUILD, "bench", name)


def bin_anchor(name):
    return os.path.join(ANCHOR_BUILD, name)


def py_anchor(script):
    return [SYS_PYTHON, os.path.join(ANCHOR_SRC, script)]


PY_FORKING_128 = ("not run: Python's ForkingMixIn.max_children = 40 leaves 88 of 128 persistent "
                  "connections waiting in the backlog for the whole run (and 128 forked Pythons "
                  "cost the time budget)")

SERVERS = [
    Server("ss_threading", "socketserver-cpp ThreadingTCPServer", "tcp", [bin_ss("ss_threading")],
           TCP_WORKLOADS, "socketserver-cpp", ("ss", "ss_threading")),
    Server("ss_forking", "socketserver-cpp ForkingTCPServer", "tcp", [bin_ss("ss_forking")],
           TCP_WORKLOADS, "socketserver-cpp", ("ss", "ss_forking")),
    Server("ss_pool", "socketserver-cpp ThreadPoolTCPServer", "tcp", [bin_ss("ss_pool")],
           TCP_WORKLOADS, "socketserver-cpp", ("ss", "ss_pool")),
    # The pool that never grows (max_threads = max_workers, 32): each waiting handler holds
    # its worker, and no socket call announces a wait (issue 9: what growth costs).
    Server("ss_pool_fixed", "socketserver-cpp ThreadPoolTCPServer, max_threads = max_workers",
           "tcp", [bin_ss("ss_pool"), "--max-threads", "32"], TCP_WORKLOADS, "socketserver-cpp",
           ("ss", "ss_pool")),
    # The PROXY protocol's cost (issue 13): the same servers with --proxy-protocol, the load
    # generator sending HAProxy's header at the start of each connection.
    Server("ss_pool_proxy_v2", "socketserver-cpp ThreadPoolTCPServer, PROXY v2 headers", "tcp",
           [bin_ss("ss_pool"), "--proxy-protocol"], ["churn16"], "socketserver-cpp",
           ("ss", "ss_pool"), proxy="v2"),
    Server("ss_pool_proxy_v1", "socketserver-cpp ThreadPoolTCPServer, PROXY v1 headers", "tcp",
           [bin_ss("ss_pool"), "--proxy-protocol"], ["churn16"], "socketserver-cpp",
           ("ss", "ss_pool"), proxy="v1"),
    Server("ss_threading_proxy_v2", "socketserver-cpp ThreadingTCPServer, PROXY v2 headers",
           "tcp", [bin_ss("ss_threading"), "--proxy-protocol"], ["churn16"], "socketserver-cpp",
           ("ss", "ss_threading"), proxy="v2"),
    Server("ss_reactor_1", "socketserver-cpp Reactor, 1 thread", "tcp",
           [bin_ss("ss_reactor"), "--threads", "1"], TCP_WORKLOADS + ["idle10000"],
           "socketserver-cpp", ("ss", "ss_reactor")),
    Server("ss_reactor_2", "socketserver-cpp Reactor, 2 threads", "tcp",
           [bin_ss("ss_reactor"), "--threads", "2"], TCP_WORKLOADS,
           "socketserver-cpp", ("ss", "ss_reactor")),
    Server("ss_aio_1", "socketserver-cpp asyncio streams, 1 thread", "tcp", [bin_ss("ss_aio")],
           TCP_WORKLOADS + ["idle10000"], "socketserver-cpp", ("ss", "ss_aio")),
    Server("ss_aio_2", "socketserver-cpp asyncio streams, 2 threads", "tcp",
           [bin_ss("ss_aio"), "--threads", "2"], TCP_WORKLOADS, "socketserver-cpp",
           ("ss", "ss_aio")),
    Server("ss_udp", "socketserver-cpp UDPServer", "udp", [bin_ss("ss_udp")], ["udp16"],
           "socketserver-cpp", ("ss", "ss_udp")),
    Server("py_threading", "Python ThreadingTCPServer", "tcp", py_anchor("py_threading.py"),
           TCP_WORKLOADS, "anchor", ("python", None)),
    Server("py_forking", "Python ForkingTCPServer", "tcp", py_anchor("py_forking.py"),
           TCP_WORKLOADS, "anchor", ("python", None), skip={"pingpong128": PY_FORKING_128}),
    Server("py_udp", "Python UDPServer", "udp", py_anchor("py_udp.py"), ["udp16"], "anchor",
           ("python", None)),
    Server("py_asyncio", "Python asyncio.start_server", "tcp", py_anchor("py_asyncio.py"),
           TCP_WORKLOADS, "anchor", ("python", None)),
    Server("twisted", "Twisted LineReceiver", "tcp", py_anchor("twisted_server.py"),
           TCP_WORKLOADS, "anchor", ("python", "twisted")),
    Server("poco", "Poco TCPServer", "tcp", [bin_anchor("poco_server")], TCP_WORKLOADS, "anchor",
           ("anchor", "poco_server")),
    Server("asio_1", "Boost.Asio, 1 thread", "tcp", [bin_anchor("asio_server"), "--threads", "1"],
           TCP_WORKLOADS + ["idle10000"], "anchor", ("anchor", "asio_server")),
    Server("asio_2", "Boost.Asio, 2 threads", "tcp", [bin_anchor("asio_server"), "--threads", "2"],
           TCP_WORKLOADS, "anchor", ("anchor", "asio_server")),
    Server("asio_coro_1", "Boost.Asio C++20 coroutines, 1 thread", "tcp",
           [bin_anchor("asio_coro_server"), "--threads", "1"], TCP_WORKLOADS + ["idle10000"],
           "anchor", ("anchor", "asio_coro_server")),
    Server("raw_epoll", "hand-written epoll (the limit)", "tcp", [bin_anchor("raw_epoll")],
           TCP_WORKLOADS + ["idle10000"], "anchor", ("anchor", "raw_epoll")),
    Server("raw_threads", "hand-written thread per connection", "tcp", [bin_anchor("raw_threads")],
           TCP_WORKLOADS, "anchor", ("anchor", "raw_threads")),
    Server("raw_udp", "hand-written recvfrom/sendto (the UDP limit)", "udp",
           [bin_anchor("raw_udp")], ["udp16"], "anchor", ("anchor", "raw_udp")),
    # TLS: the same servers with --tls-cert/--tls-key (TLS_WORKLOADS).
    Server("ss_reactor_tls_1", "socketserver-cpp Reactor listen_ssl, 1 thread", "tls",
           [bin_ss("ss_reactor"), "--threads", "1"] + TLS_ARGS, TLS_WORKLOADS, "socketserver-cpp",
           ("ss", "ss_reactor")),
    Server("ss_threading_tls", "socketserver-cpp ThreadingTCPServer over TLS", "tls",
           [bin_ss("ss_threading")] + TLS_ARGS, TLS_WORKLOADS, "socketserver-cpp",
           ("ss", "ss_threading")),
    Server("py_threading_tls", "Python ThreadingTCPServer over Python's ssl", "tls",
           py_anchor("py_threading.py") + TLS_ARGS, TLS_WORKLOADS, "anchor", ("python", None)),
    Server("twisted_tls", "Twisted LineReceiver, listenSSL", "tls",
           py_anchor("twisted_server.py") + TLS_ARGS, TLS_WORKLOADS, "anchor",
           ("python", "twisted-tls")),
    Server("asio_tls_1", "Boost.Asio ssl::stream, 1 thread", "tls",
           [bin_anchor("asio_tls_server"), "--threads", "1"] + TLS_ARGS, TLS_WORKLOADS, "anchor",
           ("anchor", "asio_tls_server")),
]

# The order of the runs within a workload: each of this project's servers beside what its
# targets compare it with.
PAIR_ORDER = ["asio_1", "ss_reactor_1", "raw_epoll", "ss_aio_1", "asio_coro_1", "py_asyncio",
              "ss_reactor_2", "asio_2", "ss_aio_2", "ss_pool", "ss_pool_fixed",
              "ss_pool_proxy_v2", "ss_pool_proxy_v1", "ss_threading_proxy_v2",
              "ss_threading", "raw_threads", "py_threading", "ss_forking", "py_forking",
              "ss_udp", "raw_udp", "py_udp", "poco", "twisted",
              "ss_reactor_tls_1", "asio_tls_1", "twisted_tls", "ss_threading_tls",
              "py_threading_tls"]

ANCHOR_PACKAGES = {"poco_server": "libpoco-dev", "asio_server": "libboost-dev",
                   "asio_coro_server": "libboost-dev (and a C++20 compiler with coroutines)",
                   "asio_tls_server": "libboost-dev and libssl-dev"}

# ---------------------------------------------------------------------------------------------
# Small helpers


def log(msg):
    print(msg, flush=True)


def run_logged(cmd, logfile, timeout, cwd=ROOT):
    """Runs cmd with its output in logfile; True if it exits 0 within timeout seconds."""
    with open(logfile, "a") as out:
        out.write("$ %s\n" % " ".join(cmd))
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            return proc.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            stop_process(proc)
            out.write("runner: timed out after %d s\n" % timeout)
            return False


def stop_process(proc, grace=5.0):
    """Stops one process this runner started: SIGTERM, then SIGKILL after grace seconds; then
    anything left in its own session (the children a forking server made) gets SIGKILL — the
    process was started with start_new_session=True, so its group is ours alone. Returns the
    exit status and whether SIGKILL was needed."""
    killed = False
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            killed = True
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            proc.wait(timeout=grace)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of our own session only
    except (ProcessLookupError, PermissionError):
        pass
    return proc.returncode, killed


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return None


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                             text=True, timeout=20)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Building


def build_all(servers, jobs):
    os.makedirs(LOGS, exist_ok=True)
    notes = []
    # 1. The load generator and this project's servers (the lead's bench/CMakeLists.txt).
    project_log = os.path.join(LOGS, "build-project.log")
    open(project_log, "w").close()
    ok = os.path.exists(os.path.join(BENCH, "CMakeLists.txt"))
    if ok:
        log("build: loadgen and the socketserver-cpp bench servers (build-bench/, Release) ...")
        ok = run_logged(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release",
                         "-DSOCKETSERVER_BUILD_TESTS=OFF"], project_log, 300)
        ok = ok and run_logged(["cmake", "--build", BUILD, "--target", "bench", "-j", str(jobs)],
                               project_log, 1200)
    if not ok:
        notes.append("the project's bench build failed (see build-bench/logs/build-project.log)")
        log("build: FAILED, see %s" % project_log)
    # 2. The C++ anchors: a CMake project of their own, each target built on its own so that
    #    one that cannot be built is skipped, not fatal.
    anchor_log = os.path.join(LOGS, "build-anchors.log")
    open(anchor_log, "w").close()
    log("build: the C++ anchors (build-bench/anchors/, Release) ...")
    configured = run_logged(["cmake", "-S", ANCHOR_SRC, "-B", ANCHOR_BUILD,
                             "-DCMAKE_BUILD_TYPE=Release"], anchor_log, 300)
    built = {}
    targets = sorted({s.build[1] for s in servers if s.build and s.build[0] == "anchor"})
    for target in targets:
        if not configured:
            built[target] = "the anchors' CMake configure failed (build-bench/logs/build-anchors.log)"
            continue
        if run_logged(["cmake", "--build", ANCHOR_BUILD, "--target", target, "-j", str(jobs)],
                      anchor_log, 600):
            built[target] = None
        elif target in ANCHOR_PACKAGES:
            built[target] = "could not be built (is %s installed? `sh bench/setup.sh`; see " \
                            "build-bench/logs/build-anchors.log)" % ANCHOR_PACKAGES[target]
        else:
            built[target] = "could not be built (see build-bench/logs/build-anchors.log)"
    # 3. Decide what can run.
    have_python = os.access(SYS_PYTHON, os.X_OK)
    have_twisted = have_python and subprocess.run(
        [SYS_PYTHON, "-c", "import twisted.internet"], capture_output=True).returncode == 0
    have_pyopenssl = have_twisted and subprocess.run(
        [SYS_PYTHON, "-c", "import OpenSSL"], capture_output=True).returncode == 0
    tls_problem = make_tls_files() if any(s.kind == "tls" for s in servers) else None
    for s in servers:
        kind, target = s.build
        if s.kind == "tls" and tls_problem:
            s.unavailable = tls_problem
        elif kind == "ss":
            if not ok or not os.access(s.cmd[0], os.X_OK):
                s.unavailable = "not built (the project's bench build failed)"
        elif kind == "anchor":
            if built.get(target):
                s.unavailable = "%s %s" % (target, built[target])
            elif not os.access(s.cmd[0], os.X_OK):
                s.unavailable = "%s not built" % target
        elif kind == "python":
            if not have_python:
                s.unavailable = "%s not found (Debian's python3)" % SYS_PYTHON
            elif target in ("twisted", "twisted-tls") and not have_twisted:
                s.unavailable = "python3-twisted is not installed (`sh bench/setup.sh`)"
            elif target == "twisted-tls" and not have_pyopenssl:
                s.unavailable = "python3-openssl (Twisted's TLS) is not installed (`sh bench/setup.sh`)"
    return notes


def make_tls_files():
    """The TLS servers' certificate and key (ECDSA P-256, for 127.0.0.1 and localhost), made
    with the openssl tool into build-bench/tls/. Returns None, or why TLS cannot be measured."""
    if os.path.exists(TLS_CERT) and os.path.exists(TLS_KEY):
        return None
    os.makedirs(TLS_DIR, exist_ok=True)
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", TLS_KEY, "-out", TLS_CERT, "-days", "30", "-subj", "/CN=localhost",
           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    if run_logged(cmd, os.path.join(LOGS, "tls-certificate.log"), 60):
        return None
    return "the TLS certificate could not be made (openssl; see build-bench/logs/tls-certificate.log)"


# ---------------------------------------------------------------------------------------------
# Starting, checking and stopping servers

PORT_LINE = re.compile(rb"^PORT (\d+)\s*$")
REPLY = re.compile(rb"^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                   rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                   rb"[ 123]\d \d\d:\d\d:\d\d \d{4}\] (.*)\n?$", re.S)


class Running:
    def __init__(self, server, proc, port, logfile):
        self.server, self.proc, self.port, self.logfile = server, proc, port, logfile


def start_server(server, tag, timeout=15.0):
    """Starts server on 127.0.0.1 --port 0 and waits (bounded) for its "PORT n" line."""
    logfile = os.path.join(LOGS, "%s.%s.log" % (server.name, tag))
    err = open(logfile, "w")
    cmd = server.cmd + ["--host", HOST, "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=err, start_new_session=True)
    err.close()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + timeout
    port = None
    while port is None and time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        data += chunk
        if b"\n" in data:
            first, _, rest = data.partition(b"\n")
            m = PORT_LINE.match(first)
            if m:
                port = int(m.group(1))
            else:
                break
    sel.close()
    if port is None:
        stop_process(proc)
        raise RuntimeError("%s did not print 'PORT n' (stdout %r; see %s)"
                           % (server.name, data[:200], logfile))

    def drain():  # anything else on stdout goes to the log, so the server never blocks on it
        with open(logfile, "ab") as out:
            for chunk in iter(lambda: proc.stdout.read1(4096), b""):
                out.write(chunk)
    threading.Thread(target=drain, daemon=True).start()
    return Running(server, proc, port, logfile)


def stop_server(running):
    code, killed = stop_process(running.proc)
    problems = []
    if killed:
        problems.append("did not stop within 5 s of SIGTERM (SIGKILLed)")
    elif code != 0:
        problems.append("exited with status %s after SIGTERM" % code)
    return problems


def check_protocol(running, timeout=5.0):
    """A few requests by hand: the reply format, a line split over two sends, two lines in one
    send (TCP), a datagram (UDP). Returns None when all is well, else what went wrong."""
    try:
        if running.server.kind == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(b"hello udp", (HOST, running.port))
                data, _ = s.recvfrom(65536)
                m = REPLY.match(data)
                if not m or m.group(3) != b"hello udp" or data.endswith(b"\n"):
                    return "bad UDP reply %r" % data
            return None
        with socket.create_connection((HOST, running.port), timeout=timeout) as raw:
            s = raw
            if running.server.kind == "tls":
                import ssl
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE  # the runner's own certificate
                s = context.wrap_socket(raw)
            f = s.makefile("rb")
            if running.server.proxy:  # the balancer's header first (v1: the text line)
                s.sendall(b"PROXY TCP4 192.0.2.1 127.0.0.1 1024 %d\r\n" % running.port)
            s.sendall(b"hello 1\n")
            line = f.readline()
            m = REPLY.match(line)
            if not m or m.group(3) != b"hello 1\n" or len(line) != 27 + 8:
                return "bad reply %r" % line
            s.sendall(b"hel")
            time.sleep(0.02)
            s.sendall(b"lo 2\nhello 3\n")
            for want in (b"hello 2\n", b"hello 3\n"):
                line = f.readline()
                m = REPLY.match(line)
                if not m or m.group(3) != want:
                    return "bad reply %r (wanted the line %r)" % (line, want)
        return None
    except OSError as e:
        return "protocol check failed: %s" % e


# ---------------------------------------------------------------------------------------------
# Running the load generator

METRICS = ["rps", "p50_us", "p99_us", "server_us_per_req", "server_rss_kb", "requests",
           "server_rss_before_kb", "tls_handshakes", "tls_resumed"]


def run_loadgen(running, workload_key, duration, warmup):
    workload, conns, extra, _ = WORKLOADS[workload_key]
    cmd = [LOADGEN, "--host", HOST, "--port", str(running.port), "--workload", workload,
           "--connections", str(conns), "--duration", str(duration), "--warmup", str(warmup),
           "--server-pid", str(running.proc.pid)] + extra
    if running.server.proxy:
        cmd += ["--proxy", running.server.proxy]
    # Bounded: the run itself, plus generous room for connecting (10 000 idle ones) and settling.
    limit = duration + warmup + (60 if workload == "idle" else 20)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        out, err = proc.communicate()
        return None, "loadgen timed out after %d s" % limit
    if proc.returncode != 0:
        return None, "loadgen exited %d: %s" % (proc.returncode,
                                                err.decode(errors="replace").strip()[-300:])
    for line in reversed(out.decode(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line), None
            except ValueError:
                break
    return None, "loadgen printed no JSON: %r" % out[-300:]


def median_of(runs):
    med = {}
    for k in METRICS:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        med[k] = statistics.median(vals) if vals else None
    med["errors"] = sum(int(r.get("errors", 0)) for r in runs)
    med["bad_replies"] = sum(int(r.get("bad_replies", 0)) for r in runs)
    return med


def new_result(server, workload_key):
    return {"server": server.name, "label": server.label, "group": server.group,
            "workload": workload_key, "runs": [], "notes": [], "median": None, "failed": False}


def measure_once(server, workload_key, rep, args, result):
    """One run against a freshly started server (so RSS and idle figures do not carry over
    from the previous run); the protocol is checked by hand on the first. Adds to result."""
    def note(text):
        if text not in result["notes"]:
            result["notes"].append(text)
    try:
        running = start_server(server, "%s.%d" % (workload_key, rep))
    except RuntimeError as e:
        note(str(e))
        result["failed"] = True
        return
    if rep == 0:
        problem = check_protocol(running)
        if problem:
            note(problem)
            for p in stop_server(running):
                note(p)
            result["failed"] = True  # a server that does not speak the protocol is not measured
            return
    data, problem = run_loadgen(running, workload_key, args.duration, args.warmup)
    if running.proc.poll() is not None:
        note("the server died during a run (status %s; see %s)"
             % (running.proc.returncode, os.path.relpath(running.logfile, ROOT)))
    for p in stop_server(running):
        note(p)
    if problem:
        note(problem)
        return
    data["rep"] = rep
    result["runs"].append(data)


def log_result(r):
    m = r["median"]
    notes = ("  [%s]" % "; ".join(r["notes"])) if r["notes"] else ""
    if m:
        log("  %-13s %-12s %10s req/s  p50 %6s µs  p99 %7s µs  %7s µs/req  %6s MB  err %s%s"
            % (r["server"], r["workload"], fmt(m["rps"], 0), fmt(m["p50_us"], 0),
               fmt(m["p99_us"], 0), fmt(m["server_us_per_req"], 2),
               fmt(m["server_rss_kb"] / 1024 if m["server_rss_kb"] else None, 1),
               m["errors"] + m["bad_replies"], notes))
    else:
        log("  %-13s %-12s FAILED%s" % (r["server"], r["workload"], notes))


def busy_fraction(seconds=1.0):
    """How busy the cores are while this runner sleeps (other work on the machine), 0..1."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v[:8]), idle
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
        return max(0.0, 1.0 - (i1 - i0) / max(1, t1 - t0))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Reports


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float) and digits == 0:
        return "{:,.0f}".format(v)
    if isinstance(v, int):
        return "{:,}".format(v)
    return "{:,.{d}f}".format(v, d=digits)


def get(results, server, workload, key):
    r = results.get((server, workload))
    if not r or not r.get("median"):
        return None
    return r["median"].get(key)


def pair_ratios(results, a, b, wl, key):
    """a/b for each repetition both were measured in (they ran next to each other)."""
    ra, rb = results.get((a, wl)), results.get((b, wl))
    if not ra or not rb:
        return []
    by_rep = {d.get("rep"): d.get(key) for d in rb["runs"]}
    out = []
    for d in ra["runs"]:
        x, y = d.get(key), by_rep.get(d.get("rep"))
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y:
            out.append(x / y)
    return out


def target_checks(results):
    """The issue's targets, each as (target, figures, holds: True/False/None if not measured)."""
    out = []

    def ratio(desc, a, b, wl, key, limit, digits, holds):
        x, y = get(results, a, wl, key), get(results, b, wl, key)
        if x is None or y is None:
            out.append((desc, "not measured", None))
            return
        per_rep = pair_ratios(results, a, b, wl, key)
        if per_rep:
            r = statistics.median(per_rep)
            shown = "%s vs %s; per repetition %s: median %.2f×" % (
                fmt(x, digits), fmt(y, digits), " / ".join("%.2f" % v for v in per_rep), r)
        else:
            r = x / y if y else float("inf")
            shown = "%s vs %s: %.2f×" % (fmt(x, digits), fmt(y, digits), r)
        out.append((desc, shown, holds(r, limit)))

    def ratio_le(desc, a, b, wl, key, limit):
        ratio(desc, a, b, wl, key, limit, 2, lambda r, lim: r <= lim)

    def ratio_ge(desc, a, b, wl, key, limit):
        ratio(desc, a, b, wl, key, limit, 0, lambda r, lim: r >= lim)

    for wl in ("pingpong16", "churn16"):
        ratio_le("reactor 1 thread ≤ 1.0× raw epoll µs/request (%s)" % wl,
                 "ss_reactor_1", "raw_epoll", wl, "server_us_per_req", 1.0)
    for wl in ("pingpong16", "pingpong128"):
        ratio_ge("reactor 1 thread requests/s ≥ Asio 1 thread (%s)" % wl,
                 "ss_reactor_1", "asio_1", wl, "rps", 1.0)
        ratio_ge("reactor 2 threads requests/s ≥ Asio 2 threads (%s)" % wl,
                 "ss_reactor_2", "asio_2", wl, "rps", 1.0)
    for wl in ("pingpong16", "churn16"):
        ratio_le("ThreadingTCPServer ≤ 1.1× raw thread-per-connection µs/request (%s)" % wl,
                 "ss_threading", "raw_threads", wl, "server_us_per_req", 1.1)
    ratio_ge("ThreadingTCPServer ≥ 3× Python ThreadingTCPServer requests/s (pingpong128)",
             "ss_threading", "py_threading", "pingpong128", "rps", 3.0)
    ratio_le("thread pool ≤ 1.1× raw epoll µs/request (churn16)",
             "ss_pool", "raw_epoll", "churn16", "server_us_per_req", 1.1)
    for proxied, base, what in (("ss_pool_proxy_v2", "ss_pool", "v2, thread pool"),
                                ("ss_pool_proxy_v1", "ss_pool", "v1, thread pool"),
                                ("ss_threading_proxy_v2", "ss_threading", "v2, ThreadingTCPServer")):
        ratio_le("PROXY %s ≤ 1.05× µs/request without it (churn16)" % what,
                 proxied, base, "churn16", "server_us_per_req", 1.05)
    ratio_ge("ForkingTCPServer ≥ 5× Python ForkingTCPServer requests/s (churn16)",
             "ss_forking", "py_forking", "churn16", "rps", 5.0)
    ratio_le("UDPServer ≤ 1.1× raw epoll µs/request (udp16 vs raw recvfrom/sendto)",
             "ss_udp", "raw_udp", "udp16", "server_us_per_req", 1.1)
    # TLS (the TLS issue's targets).
    ratio_le("reactor over TLS ≤ 1.1× Asio ssl::stream µs/request (tls-pingpong16)",
             "ss_reactor_tls_1", "asio_tls_1", "tls-pingpong16", "server_us_per_req", 1.1)
    ratio_ge("reactor full TLS handshakes/s ≥ 0.95× Asio's (tls-handshake)",
             "ss_reactor_tls_1", "asio_tls_1", "tls-handshake", "rps", 0.95)
    ratio_ge("reactor full TLS handshakes/s ≥ 5× Twisted's (tls-handshake)",
             "ss_reactor_tls_1", "twisted_tls", "tls-handshake", "rps", 5.0)
    ratio_ge("ThreadingTCPServer over TLS ≥ 3× Python's requests/s (tls-pingpong128)",
             "ss_threading_tls", "py_threading_tls", "tls-pingpong128", "rps", 3.0)
    # The asyncio streams (issue 14), ss_aio_1 against: the limit, the same written with Asio's
    # coroutines, the reactor it runs on (µs/request, at most), and Python's asyncio (requests/s,
    # at least).
    for check, what, other, wl, limit in (
            (ratio_le, "raw epoll", "raw_epoll", "pingpong16", 1.1),
            (ratio_le, "Asio coroutines 1 thread", "asio_coro_1", "pingpong16", 1.0),
            (ratio_le, "reactor 1 thread", "ss_reactor_1", "churn16", 1.1),
            (ratio_ge, "Python asyncio", "py_asyncio", "pingpong16", 5.0),
            (ratio_ge, "Python asyncio", "py_asyncio", "churn16", 5.0)):
        le = check is ratio_le
        check("asyncio streams 1 thread %s %.1f× %s %s (%s)"
              % ("≤" if le else "≥", limit, what, "µs/request" if le else "requests/s", wl),
              "ss_aio_1", other, wl, "server_us_per_req" if le else "rps", limit)
    idle_check(out, results, "reactor", "ss_reactor_1", "Asio's", "asio_1")
    idle_check(out, results, "asyncio streams", "ss_aio_1", "Asio coroutines'", "asio_coro_1")
    return out


def idle_bytes_per_connection(results, server):
    """The median over idle10000's runs of (RSS with the 10 000 connections open − RSS of the
    fresh server before they were opened) / 10 000, in bytes: what the process keeps in memory
    per idle connection (its objects, buffers, coroutine frames, allocator slack; the kernel's
    socket buffers are not in RSS). None when not measured."""
    r = results.get((server, "idle10000"))
    conns = WORKLOADS["idle10000"][2][1]
    per_run = [(d["server_rss_kb"] - d["server_rss_before_kb"]) * 1024 / int(conns)
               for d in (r["runs"] if r else [])
               if d.get("server_rss_kb") and d.get("server_rss_before_kb")]
    return statistics.median(per_run) if per_run else None


def idle_check(out, results, what, a, other, b):
    """10 000 idle connections: a's RSS below b's and every connection answered by a; with the
    bytes each idle connection holds in either."""
    desc = "10 000 idle: %s RSS < %s, every connection answers" % (what, other)
    x = get(results, a, "idle10000", "server_rss_kb")
    y = get(results, b, "idle10000", "server_rss_kb")
    r = results.get((a, "idle10000"))
    if x is None or y is None:
        out.append((desc, "not measured", None))
        return
    answered = r["median"]["errors"] == 0 and r["median"]["bad_replies"] == 0 and r["runs"]
    per_conn = [idle_bytes_per_connection(results, s) for s in (a, b)]
    out.append((desc, "%.1f MB vs %.1f MB; errors %s; per idle connection %s vs %s bytes "
                      "(RSS growth / 10 000)"
                % (x / 1024, y / 1024, r["median"]["errors"], fmt(per_conn[0], 0),
                   fmt(per_conn[1], 0)),
                bool(x < y and answered)))


def write_markdown(path, meta, servers, results, skipped):
    lines = []
    lines.append("Run %s on %s (%s, %d cores), %s s measured + %s s warm-up per run, median of %d "
                 "runs (errors: total over the runs). Server CPU µs/request is the primary "
                 "figure (the load generator shares the cores); requests/s second."
                 % (meta["date"], meta["host"], meta["cpu"], meta["cores"], meta["duration"],
                    meta["warmup"], meta["reps"]))
    bg = [b for b in meta.get("background_busy", []) if b is not None]
    if bg and max(bg) > 0.1:
        lines.append("")
        lines.append("**Warning:** other work kept %s of the cores busy (measured before and after "
                     "the runs): these figures are noisy; rerun on a quiet machine."
                     % " / ".join("%.0f%%" % (100 * b) for b in bg))
    lines.append("")
    # Summary matrix: µs/request.
    wls = [w for w in WORKLOADS if any((s.name, w) in results for s in servers)]
    lines.append("**Server CPU µs per request** (lower is better; requests/s in brackets; for "
                 "idle10000: µs per connection and the RSS with 10 000 connections open)")
    lines.append("")
    lines.append("| server | " + " | ".join(wls) + " |")
    lines.append("| --- |" + " ---: |" * len(wls))
    for s in servers:
        if not any((s.name, w) in results for w in wls):
            continue
        cells = []
        for w in wls:
            r = results.get((s.name, w))
            if r is None:
                cells.append("·" if w not in s.workloads else (skipped.get((s.name, w)) and "skipped" or "·"))
            elif not r.get("median"):
                cells.append("failed")
            else:
                m = r["median"]
                flag = " ⚠" if m["errors"] or m["bad_replies"] else ""
                if w == "idle10000":
                    cells.append("%s (%s MB)%s" % (fmt(m["server_us_per_req"], 1),
                                                  fmt((m["server_rss_kb"] or 0) / 1024, 1), flag))
                else:
                    cells.append("%s (%s/s)%s" % (fmt(m["server_us_per_req"], 1),
                                                  fmt(m["rps"], 0), flag))
        lines.append("| %s | %s |" % (s.name, " | ".join(cells)))
    lines.append("")
    lines.append("⚠: errors or bad replies in that cell (see the per-workload table). "
                 "·: not applicable.")
    lines.append("")
    for w in wls:
        lines.append("### %s" % WORKLOADS[w][3])
        lines.append("")
        idle = w == "idle10000"
        if idle:
            lines.append("| server | answered | p50 µs | p99 µs | server CPU µs/connection "
                         "(accept + 1 request) | RSS MB, 10 000 open (before) | errors | notes |")
        else:
            lines.append("| server | requests/s | p50 µs | p99 µs | server CPU µs/request | "
                         "RSS MB | errors | notes |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for s in servers:
            r = results.get((s.name, w))
            why = skipped.get((s.name, w))
            if r is None and why is None:
                continue
            if r is None:
                lines.append("| %s | – | – | – | – | – | – | %s |" % (s.name, why))
                continue
            notes = "; ".join(r["notes"])
            m = r.get("median")
            if not m:
                lines.append("| %s | – | – | – | – | – | – | %s |" % (s.name, notes or "no run"))
                continue
            errs = m["errors"] + m["bad_replies"]
            err_txt = fmt(m["errors"]) + (" (+%s bad)" % fmt(m["bad_replies"]) if m["bad_replies"] else "")
            if len(r["runs"]) < meta["reps"]:
                notes = ("%d of %d runs; " % (len(r["runs"]), meta["reps"])) + notes
            rss = fmt(m["server_rss_kb"] / 1024 if m["server_rss_kb"] is not None else None, 1)
            if idle and m.get("server_rss_before_kb"):
                rss += " (%s)" % fmt(m["server_rss_before_kb"] / 1024, 1)
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                s.name, fmt(m["requests"], 0) if idle else fmt(m["rps"], 0),
                fmt(m["p50_us"], 0), fmt(m["p99_us"], 0), fmt(m["server_us_per_req"], 1),
                rss, err_txt if errs else "0", notes))
        lines.append("")
    checks = target_checks(results)
    lines.append("### The issue's targets")
    lines.append("")
    lines.append("Each ratio is the median of the per-repetition ratios: within a repetition the "
                 "two servers of a pair run one after the other (the order alternates between "
                 "repetitions), so a drift in the machine's speed between cells does not read as "
                 "a difference between servers. The medians of the cells are shown first.")
    lines.append("")
    lines.append("| target | measured | holds |")
    lines.append("| --- | --- | --- |")
    for desc, figures, holds in checks:
        lines.append("| %s | %s | %s |" % (desc, figures,
                                           {True: "yes", False: "**no**", None: "–"}[holds]))
    lines.append("")
    unavailable = [s for s in servers if s.unavailable]
    if unavailable or meta.get("notes"):
        lines.append("### Not run")
        lines.append("")
        for n in meta.get("notes", []):
            lines.append("- %s" % n)
        for s in unavailable:
            lines.append("- %s (%s): %s" % (s.name, s.label, s.unavailable))
        lines.append("")
    lines.append("Servers: " + "; ".join("`%s` %s" % (s.name, s.label) for s in servers) + ".")
    lines.append("")
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return text


def write_chart(path, servers, results):
    """A clustered bar chart of server CPU µs/request (log scale), one cluster per server, one
    bar per workload. Needs gnuplot (gnuplot-nox); returns a note if it cannot be drawn."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot not found (gnuplot-nox): no chart"
    wls = [w for w in ["pingpong16", "pingpong128", "churn16", "udp16"]
           if any(get(results, s.name, w, "server_us_per_req") for s in servers)]
    rows = [s for s in servers if any(get(results, s.name, w, "server_us_per_req") for w in wls)]
    if not rows or not wls:
        return "nothing to chart"
    datafile = os.path.join(BUILD, "chart.dat")
    with open(datafile, "w") as f:
        f.write("server " + " ".join(wls) + "\n")
        for s in rows:
            vals = []
            for w in wls:
                v = get(results, s.name, w, "server_us_per_req")
                vals.append("%.3f" % v if v else "?")
            f.write("%s %s\n" % (s.name, " ".join(vals)))
    script = """
set terminal pngcairo noenhanced size 1400,650 font ",10"
set output '{out}'
set title "Server CPU time per request (µs, log scale; lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "?"
set logscale y
set yrange [1:*]
set grid ytics
set ylabel "server CPU µs / request"
set xtics rotate by -35 scale 0
set key top left
set lmargin 10
set bmargin 7
plot for [i=2:{ncol}] '{data}' using i:xtic(1) title columnheader(i)
""".format(out=path, data=datafile, ncol=len(wls) + 1)
    try:
        p = subprocess.run([gnuplot], input=script, text=True, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "gnuplot timed out"
    if p.returncode != 0:
        # pngcairo may be missing from a gnuplot build; the plain png terminal then
        script = script.replace('set terminal pngcairo noenhanced size 1400,650 font ",10"',
                                "set terminal png noenhanced size 1400,650")
        p = subprocess.run([gnuplot], input=script, text=True, capture_output=True, timeout=60)
        if p.returncode != 0:
            return "gnuplot failed: %s" % p.stderr.strip()[-300:]
    return None


def update_readme(table_md):
    path = os.path.join(BENCH, "README.md")
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin not in text or end not in text:
        log("README: no results markers, not updated")
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + table_md.rstrip() + "\n" + end + tail)
    log("README: bench/README.md 'Latest results' updated")


# ---------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 s runs, 0.5 s warm-up, 1 repetition")
    p.add_argument("--only", help="comma-separated server names (e.g. raw_epoll,ss_reactor_1)")
    p.add_argument("--workload", help="comma-separated workloads: " + ", ".join(WORKLOADS)
                   + " (or the loadgen's names pingpong, churn, udp, idle)")
    p.add_argument("--reps", type=int, help="repetitions per cell (default 3; the median is shown)")
    p.add_argument("--duration", type=float, help="measured seconds per run (default 2)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per run (default 0.5)")
    p.add_argument("--no-build", action="store_true", help="use what build-bench/ holds")
    p.add_argument("--update-readme", action="store_true",
                   help="also write the table into bench/README.md's 'Latest results'")
    p.add_argument("--list", action="store_true", help="list the servers and workloads, then exit")
    args = p.parse_args([a for a in sys.argv[1:] if a.strip()])  # make's empty BENCH_ARGS
    if args.quick:
        args.reps = args.reps or 1
        args.duration = args.duration or 1.0
        args.warmup = args.warmup if args.warmup is not None else 0.5
    args.reps = args.reps or 3
    args.duration = args.duration or 2.0
    args.warmup = args.warmup if args.warmup is not None else 0.5

    if args.list:
        for s in SERVERS:
            print("%-14s %-5s %-45s %s" % (s.name, s.kind, s.label, " ".join(s.workloads)))
        print("workloads:", " ".join(WORKLOADS))
        return 0

    servers = SERVERS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in {s.name for s in SERVERS}]
        # a bare family name selects its variants: asio -> asio_1, asio_2
        extra = [s.name for n in unknown for s in SERVERS if s.name.startswith(n + "_")]
        still = [n for n in unknown if not any(s.name.startswith(n + "_") for s in SERVERS)]
        if still:
            p.error("unknown server(s) %s; --list shows them" % ", ".join(still))
        servers = [s for s in SERVERS if s.name in names or s.name in extra]
    workloads = list(WORKLOADS)
    if args.workload:
        wanted = [w.strip() for w in args.workload.split(",") if w.strip()]
        workloads = [k for k in WORKLOADS if k in wanted or WORKLOADS[k][0] in wanted]
        if not workloads:
            p.error("unknown workload(s) %s; one of %s" % (args.workload, ", ".join(WORKLOADS)))

    t0 = time.monotonic()
    raise_fd_limit()
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    jobs = os.cpu_count() or 2
    notes = [] if args.no_build else build_all(servers, jobs)
    if args.no_build:
        build_all_check_only(servers)
    if not os.access(LOADGEN, os.X_OK):
        log("bench: no load generator at %s — nothing can be measured" % LOADGEN)
        return 1

    plan = []
    skipped = {}
    # Workload by workload, each server next to the anchor it is compared with (PAIR_ORDER), so
    # that both halves of a target's ratio are measured seconds apart, not minutes.
    rank = {name: i for i, name in enumerate(PAIR_ORDER)}
    ordered = sorted(servers, key=lambda s: rank.get(s.name, len(rank)))
    for w in workloads:
        for s in ordered:
            if w not in s.workloads:
                continue
            if s.unavailable:
                skipped[(s.name, w)] = "not run: " + s.unavailable
            elif w in s.skip:
                skipped[(s.name, w)] = s.skip[w]
            else:
                plan.append((s, w))
    per_run = args.duration + args.warmup + 0.6
    est = sum(args.reps * (per_run + (8 if w == "idle10000" else 0)) for _, w in plan)
    log("bench: %d cells × %d runs, about %.0f s (%s s + %s s warm-up each)"
        % (len(plan), args.reps, est, args.duration, args.warmup))
    for s in servers:
        if s.unavailable:
            log("bench: skipping %s: %s" % (s.name, s.unavailable))

    # Repetitions go round the whole plan (rep 1 of every cell, then rep 2, ...), so that a
    # change in the machine's background load touches every server alike; every other
    # repetition goes round backwards, so that neither half of a pair always runs first.
    background_before = busy_fraction()
    if background_before is not None and background_before > 0.1:
        log("bench: WARNING: %.0f%% of the cores are busy with other work; the figures will be "
            "noisy" % (100 * background_before))
    results = {(s.name, w): new_result(s, w) for s, w in plan}
    for rep in range(args.reps):
        if args.reps > 1:
            log("bench: repetition %d of %d" % (rep + 1, args.reps))
        for s, w in (plan if rep % 2 == 0 else list(reversed(plan))):
            r = results[(s.name, w)]
            if r["failed"]:
                continue
            measure_once(s, w, rep, args, r)
            if rep == args.reps - 1 or r["failed"]:
                r["median"] = median_of(r["runs"]) if r["runs"] else None
            if args.reps == 1 or rep == args.reps - 1:
                log_result(r)
            elif r["runs"] and len(r["runs"]) == rep + 1:
                d = r["runs"][-1]
                log("  %-13s %-12s %10s req/s  %7s µs/req" % (s.name, w, fmt(d.get("rps"), 0),
                                                          fmt(d.get("server_us_per_req"), 2)))
            else:
                log("  %-13s %-12s problem: %s" % (s.name, w, "; ".join(r["notes"])))
    for r in results.values():
        if r["median"] is None and r["runs"]:
            r["median"] = median_of(r["runs"])
    background_after = busy_fraction()

    meta = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "duration": args.duration, "warmup": args.warmup, "reps": args.reps,
        "versions": {
            "gcc": tool_version(["g++", "--version"]),
            "python": tool_version([SYS_PYTHON, "--version"]),
            "twisted": dpkg_version("python3-twisted"),
            "poco": dpkg_version("libpoco-dev"),
            "boost": dpkg_version("libboost-dev"),
        },
        "notes": notes,
        "background_busy": [background_before, background_after],
        "elapsed_s": None,
    }
    chart_note = write_chart(os.path.join(RESULTS, "latest.png"), servers, results)
    if chart_note:
        meta["notes"].append(chart_note)
    meta["elapsed_s"] = round(time.monotonic() - t0, 1)
    table = write_markdown(os.path.join(RESULTS, "latest.md"), meta, servers, results, skipped)
    with open(os.path.join(RESULTS, "latest.json"), "w") as f:
        json.dump({
            "meta": meta,
            "servers": [{"name": s.name, "label": s.label, "kind": s.kind, "group": s.group,
                         "command": [os.path.relpath(c, ROOT) if c.startswith(ROOT) else c
                                     for c in s.cmd],
                         "unavailable": s.unavailable} for s in servers],
            "results": [dict(r, workload_params={"workload": WORKLOADS[r["workload"]][0],
                                                 "connections": WORKLOADS[r["workload"]][1],
                                                 "extra": WORKLOADS[r["workload"]][2]})
                        for r in results.values()],
            "skipped": [{"server": k[0], "workload": k[1], "why": v} for k, v in skipped.items()],
            "targets": [{"target": d, "measured": f, "holds": h} for d, f, h in target_checks(results)],
        }, f, indent=1)
    if args.update_readme:
        update_readme(table)
    log("bench: done in %.0f s: bench/results/latest.md, latest.json%s"
        % (time.monotonic() - t0, "" if chart_note else ", latest.png"))
    if chart_note:
        log("bench: " + chart_note)
    return 0


def build_all_check_only(servers):
    """--no-build: only decide what is there."""
    have_twisted = os.access(SYS_PYTHON, os.X_OK) and subprocess.run(
        [SYS_PYTHON, "-c", "import twisted.internet"], capture_output=True).returncode == 0
    for s in servers:
        kind, target = s.build
        if kind in ("ss", "anchor") and not os.access(s.cmd[0], os.X_OK):
            s.unavailable = "not built (run without --no-build)"
        elif kind == "python" and not os.access(SYS_PYTHON, os.X_OK):
            s.unavailable = "%s not found" % SYS_PYTHON
        elif target == "twisted" and not have_twisted:
            s.unavailable = "python3-twisted is not installed"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
