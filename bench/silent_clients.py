#!/usr/bin/env python3
"""silent_clients.py — issue 9's flood against a pool server, measured.

Opens SILENT connections that never send, then TRICKLE connections that send one byte (no
newline) every PERIOD seconds, and meanwhile, twice a second, a well-behaved client that sends
one line and times its reply (bounded by 5 s). Prints the latency figures and how many
well-behaved clients were not answered. Loopback only; every loop is bounded in time.

  python3 bench/silent_clients.py --port P [--silent 10000] [--trickle 1000] [--period 10]
                                  [--seconds 40]
The server is started by hand, e.g. `build-bench/bench/ss_pool --workers 16`.
"""
import argparse
import resource
import selectors
import socket
import statistics
import time


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def connect_many(port, n, deadline):
    socks = []
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def probe(port):
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"ping\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = c.recv(4096)
                if not chunk:
                    return None
                data += chunk
        return time.monotonic() - start
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--silent", type=int, default=10000)
    ap.add_argument("--trickle", type=int, default=1000)
    ap.add_argument("--period", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=40.0)
    a = ap.parse_args()
    limit = raise_fd_limit()
    start = time.monotonic()
    end = start + a.seconds
    silent = connect_many(a.port, a.silent, end)
    trickle = connect_many(a.port, a.trickle, end)
    print(f"fd limit {limit}; connected {len(silent)} silent, {len(trickle)} trickling "
          f"in {time.monotonic() - start:.1f} s", flush=True)
    # Each trickler sends its first byte at a point spread over the first period, then every
    # period after it.
    nxt = [start + a.period * (i + 1) / max(len(trickle), 1) for i in range(len(trickle))]
    latencies, failures, sent, send_errors = [], 0, 0, 0
    next_probe = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        for i, s in enumerate(trickle):
            if s is not None and nxt[i] <= now:
                try:
                    s.send(b"x")
                    sent += 1
                except OSError:
                    send_errors += 1
                    s.close()
                    trickle[i] = None
                nxt[i] += a.period
        if now >= next_probe:
            t = probe(a.port)
            if t is None:
                failures += 1
            else:
                latencies.append(t)
            print(f"t={now - start:5.1f}s probe {'FAILED' if t is None else f'{t * 1000:.1f} ms'}",
                  flush=True)
            next_probe = now + 0.5
        time.sleep(0.01)
    alive = sum(1 for s in trickle if s is not None)
    print(f"probes answered {len(latencies)}, not answered within 5 s {failures}; "
          f"trickled bytes sent {sent}, tricklers closed by the server {send_errors}, left {alive}")
    if latencies:
        latencies.sort()
        print(f"latency median {statistics.median(latencies) * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms")
    for s in silent + [s for s in trickle if s is not None]:
        s.close()


if __name__ == "__main__":
    main()
