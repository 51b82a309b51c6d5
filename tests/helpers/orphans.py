#!/usr/bin/env python3
"""Make N orphans and check that whoever inherits them reaps them.

Usage: orphans.py N [--batch B]

Forks intermediates that each fork up to B grandchildren and exit at once, so
the grandchildren are re-parented (to PID 1, or to the nearest subreaper).
Each grandchild waits until it has been re-parented (its parent-death signal,
which the kernel sends after re-parenting; no polling), reports its new
parent pid, and exits immediately.

Then it scans /proc of its PID namespace (the test runs it under
--mount-proc) until no process is in state Z, within a deadline, and prints:

  orphans <N reported>
  reapers <sorted distinct new-parent pids>
  zombies <count left at the end>

Exit 0 only when every orphan reported, all of them were re-parented to this
script's parent (rinit: PID 1, or the subreaper) and no zombie is left.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)


def zombies():
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
        if state == b"Z":
            found.append(int(entry))
    return found


def main():
    n = int(sys.argv[1])
    batch = 100
    if len(sys.argv) > 3 and sys.argv[2] == "--batch":
        batch = int(sys.argv[3])
    expected = os.getppid()

    # Blocked here, inherited by every fork: the orphans sigwait for it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    report_r, report_w = os.pipe()
    made = 0
    while made < n:
        count = min(batch, n - made)
        middle = os.fork()
        if middle == 0:
            os.close(report_r)
            me = os.getpid()
            for _ in range(count):
                if os.fork() == 0:
                    LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGUSR1), 0, 0, 0)
                    # The intermediate may already be gone (no signal then).
                    if os.getppid() == me:
                        signal.sigwait({signal.SIGUSR1})
                    os.write(report_w, b"%d\n" % os.getppid())
                    os._exit(0)
            os._exit(0)
        os.waitpid(middle, 0)
        made += count
    os.close(report_w)

    data = b""
    while True:
        chunk = os.read(report_r, 65536)
        if not chunk:
            break
        data += chunk
    parents = [int(x) for x in data.split()]

    deadline = time.monotonic() + 20
    left = zombies()
    while left and time.monotonic() < deadline:
        time.sleep(0.01)
        left = zombies()

    reapers = sorted(set(parents))
    print("orphans %d" % len(parents))
    print("reapers %s" % " ".join(str(p) for p in reapers))
    print("zombies %d" % len(left), flush=True)
    ok = len(parents) == n and reapers == [expected] and not left
    if not ok:
        print("expected reaper %d, zombie pids %s" % (expected, left[:20]), file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
