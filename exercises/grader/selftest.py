"""The kit's self-test: kit.py against grader/hostile.cpp (a program that ignores signals and
--port, forks, and floods its output). Each check here asserts the KIT's behaviour: a clear
failure in bounded time, bounded memory, no process left behind.

    python3 selftest.py --binary build/exercises/exercise_hostile --expect pass
"""
import os
import re
import signal
import time

import kit

grader = kit.Grader("kit", "the grader against a hostile program")


def child_pid(p):
    return int(p.wait_output(r"child (\d+)", 5, stream="stderr").group(1))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


@grader.check("a server that never listens is a failed check, in bounded time")
def _(ctx):
    t0 = time.monotonic()
    try:
        ctx.start_server()
    except kit.Fail as e:
        took = time.monotonic() - t0
        if "nothing listened" not in str(e) or took > 15:
            raise kit.Fail("expected \"nothing listened\" within 15 s; got %r after %.1f s" % (str(e), took))
        return "failed after %.1f s: %s" % (took, str(e)[:80])
    raise kit.Fail("start_server returned for a program that never listens")


@grader.check("a flood of output is read and capped")
def _(ctx):
    p = ctx.start()
    time.sleep(1.5)
    n = len(p.text())
    if n == 0 or n > kit.OUTPUT_CAP:
        raise kit.Fail("expected between 1 byte and %d bytes kept; kept %d" % (kit.OUTPUT_CAP, n))
    return "kept %d bytes of the flood (cap %d); the program was not blocked on a full pipe" % (n, kit.OUTPUT_CAP)


@grader.check("the program and its forked child are killed, signals ignored or not")
def _(ctx):
    p = ctx.start()
    pid = child_pid(p)
    p.signal(signal.SIGTERM)  # ignored
    if p.wait_exit(0.5) is not None:
        raise kit.Fail("the hostile program was meant to ignore SIGTERM")
    p.kill()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid) or p.running():
        raise kit.Fail("after kill(), the program or its child (pid %d) still runs" % pid)
    return "the program and its child %d were gone after kill()" % pid


@grader.check("a check that hangs is ended by the watchdog")
def _(ctx):
    old = kit.CHECK_LIMIT
    kit.CHECK_LIMIT = 1.0
    try:
        passed, message, broke = grader._run_check(lambda c: time.sleep(30), ctx.binary, ctx.scratch)
    finally:
        kit.CHECK_LIMIT = old
    if passed or broke or not re.search(r"did not finish within", message):
        raise kit.Fail("expected the watchdog's failure; got %r" % message)
    return "a check sleeping 30 s failed after the 1 s watchdog: %s" % message


if __name__ == "__main__":
    grader.main()
