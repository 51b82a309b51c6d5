#!/usr/bin/env python3
"""Programs for the supervisor-mode tests (tests/supervise_*.rs).

Every event is appended as one line to DIR/events (O_APPEND, one write per
line, so several processes can share the file):  ``<what> <pid> <time>``,
with <time> from time.time() (one clock for every process of the test).

Usage:
  supervised.py family DIR
      The main process forks a child in its own process group. The child
      writes ``child-ready``, and on SIGTERM ``child-term`` and exits 0. The
      main process prints ``ready <pid> <child pid>`` once the child is ready;
      on SIGTERM it writes ``main-term`` and then waits for its child to
      exit before exiting 0 itself: it only stops promptly when the stop
      signal reached the child too (kill_group).

  supervised.py crash-leaves-child DIR [--child-ignores-term]
      Writes ``start``; if DIR/child.pid exists (left by the previous run),
      writes ``old-child-alive <old pid>`` or ``old-child-gone <old pid>``.
      Forks a child in its process group that writes DIR/child.pid and
      ``child-ready`` and sleeps forever (ignoring SIGTERM with the option;
      else ``child-term`` and exit on SIGTERM). On the first run only, the
      main process then stays up 0.4 s (past start_secs), writes ``exit`` and
      exits 1, leaving the child behind; later runs stay up.

  supervised.py daemon DIR [--ignore-term]
      Double-forks a daemon in a new session (signal dispositions left at
      their defaults unless --ignore-term) that writes DIR/daemon.pid (its
      pid in the test's PID namespace) and sleeps forever. The main process
      prints ``ready <pid> <daemon pid>`` and sleeps forever.
"""
import os
import signal
import sys
import time


def event(d, what, extra=""):
    line = "%s %d %.6f%s\n" % (what, os.getpid(), time.time(), extra)
    fd = os.open(os.path.join(d, "events"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, line.encode())
    os.close(fd)


def say(line):
    os.write(1, (line + "\n").encode())


def sleep_forever():
    while True:
        signal.pause()


def family(d):
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)

        def on_term(_s, _f):
            event(d, "child-term")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
        event(d, "child-ready")
        os.close(w)
        sleep_forever()
    os.close(w)
    os.read(r, 1)

    def on_term(_s, _f):
        event(d, "main-term")
        os.waitpid(child, 0)
        event(d, "main-exit")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    say("ready %d %d" % (os.getpid(), child))
    sleep_forever()


def alive(pid):
    # Reaped processes have no /proc entry; a zombie still counts as alive.
    return os.path.exists("/proc/%d" % pid)


def crash_leaves_child(d, ignore_term):
    event(d, "start")
    pidfile = os.path.join(d, "child.pid")
    first = not os.path.exists(pidfile)
    if not first:
        with open(pidfile) as f:
            old = int(f.read())
        event(d, "old-child-alive" if alive(old) else "old-child-gone", " %d" % old)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            def on_term(_s, _f):
                event(d, "child-term")
                os._exit(0)

            signal.signal(signal.SIGTERM, on_term)
        tmp = pidfile + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d" % os.getpid())
        os.rename(tmp, pidfile)
        event(d, "child-ready")
        os.close(w)
        sleep_forever()
    os.close(w)
    os.read(r, 1)
    if first:
        time.sleep(0.4)
        event(d, "exit")
        os._exit(1)
    sleep_forever()


def daemon(d, ignore_term):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pidfile = os.path.join(d, "daemon.pid")
        with open(pidfile + ".tmp", "w") as f:
            f.write("%d" % os.getpid())
        os.rename(pidfile + ".tmp", pidfile)
        os.write(w, b"%d\n" % os.getpid())
        os.close(w)
        os.closerange(0, 3)
        sleep_forever()
    os.close(w)
    os.waitpid(pid, 0)
    daemon_pid = int(os.read(r, 64).decode().strip())
    say("ready %d %d" % (os.getpid(), daemon_pid))
    sleep_forever()


def main():
    mode, d = sys.argv[1], sys.argv[2]
    flags = sys.argv[3:]
    if mode == "family":
        family(d)
    elif mode == "crash-leaves-child":
        crash_leaves_child(d, "--child-ignores-term" in flags)
    elif mode == "daemon":
        daemon(d, "--ignore-term" in flags)
    else:
        sys.exit("unknown mode %r" % mode)


if __name__ == "__main__":
    main()
