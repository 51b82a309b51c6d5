#!/usr/bin/env python3
"""Ready-line handshake helper (after dumb-init's testing/print_signals.py).

Blocks every catchable signal except SIGCHLD, prints ``ready <pid>``, then one
line per signal received (``SIGUSR1``; unnamed ones as ``SIG<n>``), flushed at
once so a test can read lines instead of sleeping.

Options:
  --exit-on NAME      exit after printing NAME (repeatable; default SIGTERM)
  --exit-code N       code to exit with (default 128 + signal number)
  --group-child       first fork a child in the same process group that does
                      the same, its lines prefixed with "child "; the main
                      process prints its ready line after the child's
  --report-tty        before the ready line print "foreground yes|no": whether
                      this process group is the foreground group of stdin's tty
"""
import os
import signal
import sys

UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD}


def name_of(signum):
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return "SIG%d" % signum
    # Python names 34 and 64 SIGRTMIN/SIGRTMAX; report numbers for all RT signals.
    if signal.SIGRTMIN <= signum <= signal.SIGRTMAX:
        return "SIG%d" % signum
    return name


def say(line):
    os.write(1, (line + "\n").encode())


def loop(prefix, exit_on, exit_code):
    wanted = set(signal.valid_signals()) - UNCATCHABLE
    while True:
        info = signal.sigwaitinfo(wanted)
        name = name_of(info.si_signo)
        say(prefix + name)
        if name in exit_on:
            os._exit(exit_code if exit_code is not None else 128 + info.si_signo)


def main():
    args = sys.argv[1:]
    exit_on, exit_code, group_child, report_tty = set(), None, False, False
    while args:
        arg = args.pop(0)
        if arg == "--exit-on":
            name = args.pop(0).upper()
            exit_on.add(name if name.startswith("SIG") else "SIG" + name)
        elif arg == "--exit-code":
            exit_code = int(args.pop(0))
        elif arg == "--group-child":
            group_child = True
        elif arg == "--report-tty":
            report_tty = True
        else:
            sys.exit("print_signals.py: unknown argument %r" % arg)
    if not exit_on:
        exit_on = {"SIGTERM"}

    everything = set(signal.valid_signals()) - UNCATCHABLE
    signal.pthread_sigmask(signal.SIG_BLOCK, everything)

    if group_child:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            say("child ready %d" % os.getpid())
            os.close(w)
            loop("child ", exit_on, exit_code)
        os.close(w)
        os.read(r, 1)  # EOF once the child printed its ready line
        os.close(r)

    if report_tty:
        try:
            fg = os.tcgetpgrp(0) == os.getpgrp()
        except OSError:
            fg = False
        say("foreground %s" % ("yes" if fg else "no"))
    say("ready %d" % os.getpid())
    loop("", exit_on, exit_code)


if __name__ == "__main__":
    main()
