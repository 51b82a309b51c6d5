#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal and drive it from a test.

Usage: pty_drive.py CMD ARGS...

The command runs in a new session with the pty's slave as its controlling
terminal and stdin/stdout/stderr (pty.fork). Everything it writes is relayed
to our stdout one line at a time (CR removed). Each line read on our stdin is
hex: those bytes are written to the pty master, as if typed (03 = Ctrl-C).
When the command exits we print ``exit <code>`` (128+N for signal N) and exit
with that code. The command gets SIGKILL if we die (parent-death signal), so
a test that kills us leaves nothing behind.
"""
import ctypes
import os
import pty
import select
import signal
import sys

PR_SET_PDEATHSIG = 1


def main():
    cmd = sys.argv[1:]
    pid, master = pty.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        os.execvp(cmd[0], cmd)
    pending = b""
    stdin_open = True
    while True:
        fds = [master] + ([0] if stdin_open else [])
        ready, _, _ = select.select(fds, [], [])
        if 0 in ready:
            line = sys.stdin.buffer.readline()
            if not line:
                stdin_open = False
            else:
                os.write(master, bytes.fromhex(line.decode().strip()))
        if master in ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every slave fd is closed
                data = b""
            if not data:
                break
            pending += data.replace(b"\r", b"")
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                os.write(1, line + b"\n")
    if pending:
        os.write(1, pending + b"\n")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code
    os.write(1, b"exit %d\n" % code)
    sys.exit(code)


if __name__ == "__main__":
    main()
