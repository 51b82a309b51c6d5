#!/usr/bin/env python3
"""Print this process's argv and environment exactly, as one JSON object.

Bytes are not guaranteed to be UTF-8, so every argument and every
NAME=VALUE entry is hex-encoded: {"argv": [hex...], "env": [hex...]}, argv
without argv[0] (the interpreter's path is not what the test passed).
"""
import json
import os
import sys

argv = [os.fsencode(a).hex() for a in sys.argv[1:]]
env = sorted((k + b"=" + v).hex() for k, v in os.environb.items())
print(json.dumps({"argv": argv, "env": env}), flush=True)
