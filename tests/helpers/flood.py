#!/usr/bin/env python3
"""Write numbered, checksummed lines of mixed length to stdout and stderr.

Usage: flood.py NAME MEGABYTES [LONG]

Each line is ``NAME STREAM SEQ CRC PAYLOAD``: SEQ counts per stream from 0,
CRC is the zlib crc32 of PAYLOAD in hex, PAYLOAD printable ASCII of 0 to
~2000 bytes, every 500th line 40 000 bytes (longer than rinit's MAX_LINE, so
it arrives split; not with LONG = 0). About MEGABYTES/2 go to each stream, written alternately
in bursts of a few lines with one os.write per line. The last line on each
stream is ``NAME STREAM end COUNT``.
"""
import os
import random
import sys
import zlib


def main():
    name, mb = sys.argv[1], float(sys.argv[2])
    long_lines = len(sys.argv) < 4 or sys.argv[3] != "0"
    rng = random.Random(name)
    alphabet = bytes(range(0x21, 0x7F))
    pool = bytes(rng.choice(alphabet) for _ in range(1 << 16))
    budget = int(mb * (1 << 20) / 2)
    state = {1: [0, 0], 2: [0, 0]}  # fd -> [seq, bytes written]
    label = {1: b"stdout", 2: b"stderr"}
    while any(s[1] < budget for s in state.values()):
        for fd in (1, 2):
            st = state[fd]
            for _ in range(rng.randint(1, 8)):
                if st[1] >= budget:
                    break
                seq = st[0]
                long = long_lines and seq % 500 == 499
                n = 40000 if long else rng.randint(0, 2000)
                if n <= len(pool):
                    start = rng.randint(0, len(pool) - n)
                    payload = pool[start:start + n]
                else:
                    payload = (pool * (n // len(pool) + 1))[:n]
                line = b"%s %s %d %08x %s\n" % (
                    name.encode(), label[fd], seq, zlib.crc32(payload), payload)
                os.write(fd, line)
                st[0] += 1
                st[1] += len(line)
    for fd in (1, 2):
        os.write(fd, b"%s %s end %d\n" % (name.encode(), label[fd], state[fd][0]))


if __name__ == "__main__":
    main()
