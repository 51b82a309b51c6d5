#!/usr/bin/env python3
"""Write numbered lines to stdout, then say so on stderr and wait.

Usage: numbered.py COUNT [PAD]

Lines are ``SEQ xxx…`` (PAD x's, default 60), one os.write each (atomic on
a pipe); COUNT 0 means forever. After the last one: ``numbered done COUNT``
on stderr, then the process waits for signals (SIGTERM ends it; SIGUSR1
and SIGUSR2, which rinit forwards to every program, are ignored).
"""
import itertools
import os
import signal
import sys


def main():
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    count = int(sys.argv[1])
    pad = b"x" * (int(sys.argv[2]) if len(sys.argv) > 2 else 60)
    seqs = itertools.count() if count == 0 else range(count)
    for seq in seqs:
        os.write(1, b"%d %s\n" % (seq, pad))
    os.write(2, b"numbered done %d\n" % count)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
