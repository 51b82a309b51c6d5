#!/usr/bin/env python3
"""Main child that leaves a process behind and exits.

Usage: leftover.py EXIT_CODE [--ignore-term] [--daemon]

Forks a grandchild (with --daemon: double fork + setsid, so it is an orphan
in its own session). The grandchild blocks every catchable signal, prints
``leftover ready <pid>`` and then one line per signal (``leftover SIGTERM``);
it exits 0 on SIGTERM unless --ignore-term. Once the grandchild is ready this
process waits for a line (or EOF) on stdin, so the test can look at the tree
first, then prints ``main exiting`` and exits with EXIT_CODE.
"""
import os
import signal
import sys


def say(line):
    os.write(1, (line + "\n").encode())


def grandchild(ready_w, ignore_term):
    wanted = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    say("leftover ready %d" % os.getpid())
    os.close(ready_w)
    while True:
        info = signal.sigwaitinfo(wanted)
        say("leftover %s" % signal.Signals(info.si_signo).name)
        if info.si_signo == signal.SIGTERM and not ignore_term:
            os._exit(0)


def main():
    code = int(sys.argv[1])
    ignore_term = "--ignore-term" in sys.argv[2:]
    daemon = "--daemon" in sys.argv[2:]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if daemon:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
        grandchild(w, ignore_term)
    os.close(w)
    os.read(r, 1)  # EOF once the grandchild printed its ready line
    if daemon:
        os.waitpid(pid, 0)
    sys.stdin.readline()
    say("main exiting")
    os._exit(code)


if __name__ == "__main__":
    main()
