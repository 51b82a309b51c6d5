#!/usr/bin/env python3
"""rinit benchmark: rinit beside tini, tini-static, dumb-init, catatonit
(single-command mode) and supervisord, s6-svscan, runsvdir (supervisor
mode), each run as the real PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc`).

Every round runs every init once per measurement, round-robin (the order
rotates each round), so machine noise hits all of them alike; ratios against
tini are taken pair by pair within a round, then summarised (median, min,
max). Time stamps come from the programs themselves (bench/benchkit.rs, a
static helper with a start-up of microseconds), read from CLOCK_MONOTONIC
like this script's time.monotonic_ns().

See bench/README.md. Writes docs/benchmarks.md, docs/benchmarks.png and
docs/benchmarks.json (or --out DIR).
"""

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import platform
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
KIT = os.path.join(BENCH, ".build", "benchkit")
KIT_SRC = os.path.join(BENCH, "benchkit.rs")
RINIT_DEFAULT = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/rinit")

STOP_TIMEOUT_S = 1.0  # stop_timeout given to every supervisor (ms-exact target)
REAP_LIMIT_S = 5  # zombies left this long after the last orphan: reported as left
ESC_CAP_S = {"single": 1.5, "super": STOP_TIMEOUT_S * 2 + 3}  # escalation run cut after this
SLOW_READER_S = 0.5  # the "blocked stdout" log test: reader starts this late
PASS_THROUGH = ("s6-svscan", "runsvdir")
FLOOR = "floor (minimal init)"
MiB = 1024 * 1024
RELAYS = {"splice": "splice relay", "copy": "copy relay"}  # programs write to the init's stdout themselves
GROWN_PIPE = "pipe of 1 MiB"  # the bare pipe grown as rinit grows its stdout pipe
GROWN_PIPE_SIZE = MiB
# what the log figures are read against, beside the pipe ceiling
LOG_REFERENCES = list(RELAYS.values()) + [GROWN_PIPE]
SETTLE_S = 1.3  # > start_secs/startsecs (1 s): programs count as running


def now():
    return time.monotonic_ns()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------- helpers ---

def build_kit():
    if os.path.exists(KIT) and os.path.getmtime(KIT) >= os.path.getmtime(KIT_SRC):
        return
    os.makedirs(os.path.dirname(KIT), exist_ok=True)
    cmd = ["rustc", "--edition", "2021", "-O", "-C", "panic=abort", "-C", "strip=symbols",
           "-C", "target-feature=+crt-static", KIT_SRC, "-o", KIT]
    log("building helper:", " ".join(cmd))
    subprocess.run(cmd, check=True)


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def descendants(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        for c in children(p):
            seen.append(c)
            todo.append(c)
    return seen


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def comm(pid):
    return (read(f"/proc/{pid}/comm", "") or "").strip()


def cmdline(pid):
    return (read(f"/proc/{pid}/cmdline", "") or "").split("\0")


def proc_sample(pid):
    """RSS/PSS (KiB), context switches, CPU ticks (utime+stime) of one pid."""
    st = read(f"/proc/{pid}/status")
    sm = read(f"/proc/{pid}/smaps_rollup")
    stat = read(f"/proc/{pid}/stat")
    if st is None or sm is None or stat is None:
        return None
    f = {}
    for line in st.splitlines():
        k, _, v = line.partition(":")
        f[k] = v.split()
    pss = next(int(l.split()[1]) for l in sm.splitlines() if l.startswith("Pss:"))
    fields = stat[stat.rindex(")") + 2:].split()
    return {
        "rss": int(f["VmRSS"][0]),
        "pss": pss,
        "ctxt": int(f["voluntary_ctxt_switches"][0]) + int(f["nonvoluntary_ctxt_switches"][0]),
        "ticks": int(fields[11]) + int(fields[12]),
    }


def elf_info(path):
    """(size, static) from the ELF program headers: static = no PT_INTERP."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head != b"\x7fELF":
            return os.path.getsize(path), None
        f.seek(0)
        data = f.read(64)
        phoff = int.from_bytes(data[32:40], "little")
        phentsize = int.from_bytes(data[54:56], "little")
        phnum = int.from_bytes(data[56:58], "little")
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    interp = any(int.from_bytes(ph[i * phentsize:i * phentsize + 4], "little") == 3 for i in range(phnum))
    return os.path.getsize(path), not interp


def wait_fd(fd, timeout_s):
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(max(0, timeout_s) * 1000))


class Failed(Exception):
    pass


# ------------------------------------------------------------ the inits ---

class Prog:
    def __init__(self, name, argv, ignore_term=False):
        self.name, self.argv, self.ignore_term = name, argv, ignore_term


class Init:
    """How to run PROGRAMS under one init."""
    mode = "single"
    reference = False  # a floor to compare with, measured for start-up and shutdown only
    key = name = ""
    binary = ""
    needs = ""  # other binaries the init needs at run time (for the size table)

    def available(self):
        return os.access(self.binary, os.X_OK)

    def argv(self, progs, d, log_format=None):
        raise NotImplementedError


class Single(Init):
    def __init__(self, key, binary, sep=True):
        self.key = self.name = key
        self.binary, self.sep = binary, sep

    def argv(self, progs, d, log_format=None):
        if len(progs) == 1:
            cmd = progs[0].argv
        else:  # several programs: a shell starts them all and waits
            script = " ".join(shlex.join(p.argv) + " &" for p in progs) + " wait"
            cmd = ["/bin/sh", "-c", script]
        return [self.binary] + (["--"] if self.sep else []) + cmd


class RinitSup(Init):
    mode = "super"

    def __init__(self, binary, log_format="prefix"):
        self.binary = binary
        self.fmt = log_format
        self.key = "rinit -c" if log_format == "prefix" else f"rinit -c ({log_format})"
        self.name = self.key

    def argv(self, progs, d, log_format=None):
        fmt = log_format or self.fmt
        lines = ["[rinit]", f'log_format = "{fmt}"', 'shutdown_timeout = "5s"', ""]
        for p in progs:
            lines += ["[[program]]", f'name = "{p.name}"', f"command = {json.dumps(p.argv)}",
                      f'stop_timeout = "{int(STOP_TIMEOUT_S * 1000)}ms"', 'stdout = "log"', ""]
        path = os.path.join(d, "rinit.toml")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return [self.binary, "-c", path]


class Supervisord(Init):
    mode = "super"
    key = name = "supervisord"
    binary = "/usr/bin/supervisord"
    needs = "python3"

    def argv(self, progs, d, log_format=None):
        lines = ["[supervisord]", "nodaemon=true", "user=root", "logfile=/dev/null",
                 "logfile_maxbytes=0", f"pidfile={d}/supervisord.pid", f"childlogdir={d}", ""]
        for p in progs:
            lines += [f"[program:{p.name}]", "command=" + shlex.join(p.argv),
                      "autorestart=false", f"stopwaitsecs={STOP_TIMEOUT_S:g}",
                      "stdout_logfile=/dev/stdout", "stdout_logfile_maxbytes=0",
                      "stderr_logfile=/dev/stderr", "stderr_logfile_maxbytes=0", ""]
        path = os.path.join(d, "supervisord.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return [self.binary, "-n", "-c", path]


def service_dirs(base, progs, extra=None):
    os.makedirs(base)
    for p in progs:
        sd = os.path.join(base, p.name)
        os.makedirs(sd)
        with open(os.path.join(sd, "run"), "w") as f:
            f.write("#!/bin/sh\nexec " + shlex.join(p.argv) + "\n")
        os.chmod(os.path.join(sd, "run"), 0o755)
        for k, v in (extra or {}).items():
            with open(os.path.join(sd, k), "w") as f:
                f.write(v)


class S6(Init):
    mode = "super"
    key = name = "s6-svscan"
    binary = "/usr/bin/s6-svscan"
    needs = "s6-supervise per program, libskarnet"

    def argv(self, progs, d, log_format=None):
        base = os.path.join(d, "scan")
        service_dirs(base, progs, {"timeout-kill": f"{int(STOP_TIMEOUT_S * 1000)}\n"})
        return [self.binary, base]


class Runit(Init):
    mode = "super"
    key = name = "runsvdir"
    binary = "/usr/bin/runsvdir"
    needs = "runsv per program"

    def argv(self, progs, d, log_format=None):
        base = os.path.join(d, "sv")
        service_dirs(base, progs)
        return [self.binary, "-P", base]


class Floor(Init):
    """Not a peer: the least any init does here (benchkit's fork + exec of
    each program, TERM forwarded, reaped), measured beside the others."""
    mode = "super"
    key = name = FLOOR
    reference = True

    def __init__(self):
        self.binary = KIT

    def argv(self, progs, d, log_format=None):
        cmds = []
        for p in progs:
            cmds += (["::"] if cmds else []) + p.argv
        return [KIT, "init"] + cmds


def make_inits(rinit, private=lambda path: path):
    return [
        Single("rinit", private(rinit)),
        Single("tini", private("/usr/bin/tini")),
        Single("tini-static", private("/usr/bin/tini-static")),
        Single("dumb-init", private("/usr/bin/dumb-init")),
        Single("catatonit", private("/usr/bin/catatonit")),
        RinitSup(private(rinit)),
        Supervisord(),
        S6(),
        Runit(),
    ]


# -------------------------------------------------------------- one run ---

class Run:
    """One init as PID 1 of a fresh PID namespace, with its programs."""

    def __init__(self, ctx, init, progs, stdout=subprocess.DEVNULL, log_format=None, tag=""):
        self.d = tempfile.mkdtemp(prefix=f"{init.key.replace(' ', '_')}.{tag}.", dir=ctx.tmp)
        self.init = init
        self.t0file = os.path.join(self.d, "t0")
        argv = init.argv(progs, self.d, log_format)
        self.errpath = os.path.join(self.d, "stderr")
        full = ctx.unshare + [KIT, "stamp", self.t0file, "--"] + argv
        with open(self.errpath, "w") as err:
            self.p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                                      cwd=self.d, start_new_session=True)
        self.pid = None
        self.pidfd = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            kids = children(self.p.pid)
            if kids:
                self.pid = kids[0]
                self.pidfd = os.pidfd_open(self.pid)
                break
            if self.p.poll() is not None:
                break
            time.sleep(0.0005)
        if self.pid is None:
            self.kill()
            raise Failed(f"{init.key}: no PID 1 appeared: {self.stderr()}")

    def stderr(self):
        return (read(self.errpath, "") or "").strip().replace("\n", " / ")[:300]

    def alive(self):
        return not wait_fd(self.pidfd, 0)

    def t0(self):
        return int(read(self.t0file))

    def wait_files(self, paths, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while True:
            if all(os.path.exists(p) for p in paths):
                return [int(read(p).split()[0]) for p in paths]
            if not self.alive():
                raise Failed(f"{self.init.key} exited early: {self.stderr()}")
            if time.monotonic() > deadline:
                raise Failed(f"{self.init.key}: timeout waiting for {paths}: {self.stderr()}")
            time.sleep(0.001)

    def gone_after(self, t_start, timeout_s):
        """ms from t_start until PID 1 is gone, None if still alive at timeout."""
        if wait_fd(self.pidfd, timeout_s - (now() - t_start) / 1e9):
            return (now() - t_start) / 1e6
        return None

    def kill(self):
        if self.pid and self.pidfd is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        shutil.rmtree(self.d, ignore_errors=True)


def stamp_progs(d, n, ignore_first=False):
    return [Prog(f"p{i + 1}", [KIT, "stamp"] + (["--ignore-term"] if ignore_first and i == 0 else [])
                 + [os.path.join(d, f"started.p{i + 1}")]) for i in range(n)]


def nprogs(init):
    return 3 if init.mode == "super" else 1


# -------------------------------------------------------- measurements ---

STARTUP_REPS = 3  # start-ups per init per round: a ~1 ms figure is noisy


def m_startup(ctx, init):
    """exec of the init -> last program's own start stamp (ms): the median
    of STARTUP_REPS start-ups."""
    return {"startup_ms": statistics.median(m_startup_once(ctx, init) for _ in range(STARTUP_REPS))}


def m_startup_once(ctx, init):
    d = tempfile.mkdtemp(dir=ctx.tmp)
    progs = stamp_progs(d, nprogs(init))
    run = Run(ctx, init, progs, tag="startup")
    try:
        stamps = run.wait_files([p.argv[-1] for p in progs])
        return (max(stamps) - run.t0()) / 1e6
    finally:
        run.kill()
        shutil.rmtree(d, ignore_errors=True)


def m_escalation(ctx, init):
    """One program ignores SIGTERM: when is it killed, when is PID 1 gone."""
    d = tempfile.mkdtemp(dir=ctx.tmp)
    progs = stamp_progs(d, nprogs(init), ignore_first=True)
    run = Run(ctx, init, progs, tag="escalate")
    try:
        run.wait_files([p.argv[-1] for p in progs])
        time.sleep(SETTLE_S if init.mode == "super" else 0.1)
        target = progs[0].argv[-1]
        victim = [p for p in descendants(run.pid) if comm(p) == "benchkit" and target in cmdline(p)]
        if not victim:
            raise Failed("TERM-ignoring program not found")
        vfd = os.pidfd_open(victim[0])
        cap = ESC_CAP_S[init.mode]
        t = now()
        os.kill(run.pid, signal.SIGTERM)
        killed = gone = None
        deadline = t + cap * 1e9
        poller = select.poll()
        poller.register(vfd, select.POLLIN)
        poller.register(run.pidfd, select.POLLIN)
        while now() < deadline and (killed is None or gone is None):
            for fd, _ in poller.poll(max(1, (deadline - now()) / 1e6)):
                ms = (now() - t) / 1e6
                poller.unregister(fd)
                if fd == vfd:
                    killed = ms
                else:
                    gone = ms
        os.close(vfd)
        term = read(target + ".term")
        term_ms = (int(term.split()[0]) - t) / 1e6 if term else None
        return {"esc_term_ms": term_ms, "esc_killed_ms": killed, "esc_gone_ms": gone}
    finally:
        run.kill()
        shutil.rmtree(d, ignore_errors=True)


SHUTDOWN_REPS = 3  # cooperative shutdowns per init per round, as for start-up


@contextlib.contextmanager
def started_group(ctx, inits, tag):
    """Every init of the group started with its programs, at once: yields
    (runs, res) and kills and cleans up whatever is left at the end."""
    res = {i.key: {} for i in inits}
    runs, dirs = {}, []
    try:
        for init in inits:
            d = tempfile.mkdtemp(dir=ctx.tmp)
            dirs.append(d)
            progs = stamp_progs(d, nprogs(init))
            try:
                r = Run(ctx, init, progs, tag=tag)
                r.wait_files([p.argv[-1] for p in progs])
                runs[init.key] = r
            except Failed as e:
                res[init.key]["error"] = str(e)
        yield runs, res
    finally:
        for r in runs.values():
            r.kill()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def shut_each(runs, res):
    """SIGTERM each PID 1 in turn (cooperative programs): ms until gone."""
    for k, r in runs.items():
        if "error" in res[k]:
            continue
        t = now()
        os.kill(r.pid, signal.SIGTERM)
        ms = r.gone_after(t, 10)
        res[k]["shutdown_ms"] = ms if ms is not None else float("nan")
        if ms is None:
            res[k]["error"] = f"{k}: still alive 10 s after SIGTERM"


def m_shutdown_group(ctx, inits):
    """The group started together, settled (past start_secs), then shut
    down one at a time."""
    with started_group(ctx, inits, "shutdown") as (runs, res):
        time.sleep(SETTLE_S)
        shut_each(runs, res)
    return res


def m_idle_and_shutdowns(ctx, inits, idle_s):
    """The idle group, then SHUTDOWN_REPS - 1 more shutdown groups (each in
    another order): per init, the idle figures and the median shutdown."""
    results = [m_idle_group(ctx, inits, idle_s)]
    for rep in range(1, SHUTDOWN_REPS):
        k = rep % len(inits)
        results.append(m_shutdown_group(ctx, inits[k:] + inits[:k]))
    merged = results[0]
    for key, res in merged.items():
        # a NaN (still alive) comes with an error, kept below
        runs_ms = [ms for x in results if (ms := x[key].get("shutdown_ms")) is not None and ms == ms]
        if runs_ms:
            res["shutdown_ms"] = statistics.median(runs_ms)
            res["shutdown_runs_ms"] = runs_ms
        errors = [x[key]["error"] for x in results if "error" in x[key]]
        if errors:
            res["error"] = errors[0]
    return merged


def m_idle_group(ctx, inits, idle_s):
    """Start the group together, let it settle, sample, idle, sample; then
    shut each down in turn with SIGTERM (cooperative programs)."""
    with started_group(ctx, inits, "idle") as (runs, res):
        time.sleep(SETTLE_S + 0.7)

        def tree(r):
            # PID 1 plus its helper processes (s6-supervise, runsv), not the programs
            pids = [r.pid] + [p for p in descendants(r.pid) if comm(p) != "benchkit"]
            return {p: proc_sample(p) for p in pids}

        before = {k: tree(r) for k, r in runs.items()}
        time.sleep(idle_s)
        after = {k: tree(r) for k, r in runs.items()}
        for k, r in runs.items():
            a, b = after[k], before[k]
            if not r.alive() or a.get(r.pid) is None:
                res[k]["error"] = f"{k} died while idle: {r.stderr()}"
                continue
            res[k].update({
                "rss_kib": a[r.pid]["rss"], "pss_kib": a[r.pid]["pss"],
                "idle_ctxt": a[r.pid]["ctxt"] - b[r.pid]["ctxt"],
                "idle_ticks": a[r.pid]["ticks"] - b[r.pid]["ticks"],
                "tree_procs": len(a),
                "tree_pss_kib": sum(s["pss"] for s in a.values() if s),
                "tree_ctxt": sum(a[p]["ctxt"] - b[p]["ctxt"] for p in a if a[p] and b.get(p)),
                "tree_ticks": sum(a[p]["ticks"] - b[p]["ticks"] for p in a if a[p] and b.get(p)),
            })
        shut_each(runs, res)
    return res


def m_reap(ctx, init, n):
    d = tempfile.mkdtemp(dir=ctx.tmp)
    out = os.path.join(d, "orphans.json")
    run = Run(ctx, init, [Prog("orphans", [KIT, "orphans", str(n), out, str(REAP_LIMIT_S)])], tag="reap")
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(out):
            if not run.alive():
                raise Failed(f"exited early: {run.stderr()}")
            if time.monotonic() > deadline:
                raise Failed("orphan helper gave no result in 60 s")
            time.sleep(0.01)
        r = json.loads(read(out))
        if not r["t_clear"]:
            return {"reap_peak": r["peak"], "reap_left": r["left"],
                    "error": f"{r['left']} zombies still unreaped {REAP_LIMIT_S} s after the last orphan"}
        return {"reap_ms": (r["t_clear"] - r["t_created"]) / 1e6,
                "reap_total_ms": (r["t_clear"] - r["t_start"]) / 1e6,
                "reap_peak": r["peak"]}
    finally:
        run.kill()
        shutil.rmtree(d, ignore_errors=True)


def sink_result(sink, timeout_s):
    if not wait_fd(sink.stdout.fileno(), timeout_s):
        raise Failed(f"no complete output within {timeout_s:.0f} s")
    line = sink.stdout.readline()
    r = json.loads(line)
    if r.get("eof"):
        raise Failed(f"output ended early: {r}")
    return r


def stop_sink(sink):
    try:
        sink.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sink.kill()
        sink.wait()


def m_relay(ctx, mb, kind, chunk=4096):
    """The writer, a relay process, the reader: what any process in the
    middle costs (`kind`: splice = nothing copied; copy = read/write)."""
    sink = subprocess.Popen([KIT, "sink", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    relay = subprocess.Popen([KIT, "relay", kind], stdin=subprocess.PIPE, stdout=sink.stdin)
    gen = subprocess.Popen([KIT, "gen", "1", str(mb), str(chunk)], stdout=relay.stdin)
    sink.stdin.close()
    relay.stdin.close()
    try:
        r = sink_result(sink, 120)
        return {"mbps": mb / ((r["last_ns"] - r["first_ns"]) / 1e9), "broken": r["broken"], "lost": r["lost"]}
    finally:
        gen.kill()
        gen.wait()
        relay.wait()
        stop_sink(sink)


def m_ceiling(ctx, mb, writers=1, chunk=4096, pipe_size=None):
    """The same writer(s) piped straight into the same reader (a pipe
    grown to `pipe_size` bytes if given)."""
    sink = subprocess.Popen([KIT, "sink", str(writers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if pipe_size:
        fcntl.fcntl(sink.stdin.fileno(), fcntl.F_SETPIPE_SZ, pipe_size)
    gens = [subprocess.Popen([KIT, "gen", str(w + 1), str(mb), str(chunk)], stdout=sink.stdin)
            for w in range(writers)]
    sink.stdin.close()
    try:
        r = sink_result(sink, 120)
        return {"mbps": mb * writers / ((r["last_ns"] - r["first_ns"]) / 1e9), **r}
    finally:
        for g in gens:
            g.kill()
            g.wait()
        stop_sink(sink)


def m_logs(ctx, init, mb, writers, log_format=None, timeout_s=120, reader_delay_s=0):
    """reader_delay_s > 0: the reader starts that late (a blocked container
    stdout); only the integrity counts matter then."""
    progs = [Prog(f"w{w + 1}", [KIT, "gen", str(w + 1), str(mb), "4096"]) for w in range(writers)]
    rfd, wfd = os.pipe()
    sink = None
    if not reader_delay_s:
        sink = subprocess.Popen([KIT, "sink", str(writers)], stdin=rfd, stdout=subprocess.PIPE)
    try:
        run = Run(ctx, init, progs, stdout=wfd, log_format=log_format, tag="logs")
    except Failed:
        os.close(wfd)
        os.close(rfd)
        if sink:
            stop_sink(sink)
        raise
    os.close(wfd)
    if reader_delay_s:
        time.sleep(reader_delay_s)
        sink = subprocess.Popen([KIT, "sink", str(writers)], stdin=rfd, stdout=subprocess.PIPE)
    os.close(rfd)
    try:
        r = sink_result(sink, timeout_s)
        res = {"mbps": mb * writers / ((r["last_ns"] - r["first_ns"]) / 1e9),
               "broken": r["broken"], "lost": r["lost"], "out_of_order": r["out_of_order"],
               "bytes": r["bytes"], "other": r["other"]}
        if r["examples"]:
            res["examples"] = r["examples"]
        return res
    finally:
        run.kill()
        stop_sink(sink)


# ---------------------------------------------------------- statistics ---

def summary(xs):
    xs = [x for x in xs if x is not None and x == x]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def ratios(xs, refs):
    out = []
    for x, r in zip(xs, refs):
        if x is None or r is None or x != x or r != r:
            continue
        if r == 0:
            out.append(1.0 if x == 0 else float("inf"))
        else:
            out.append(x / r)
    return out


# -------------------------------------------------------------- driver ---

class Ctx:
    pass


def machine_info():
    cpu = "?"
    for line in (read("/proc/cpuinfo", "") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next((l.split()[1] for l in (read("/proc/meminfo", "") or "").splitlines()
                if l.startswith("MemTotal:")), "0")
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(int(mem) / MiB, 1),
            "kernel": platform.release(), "host": platform.node()}


def loadavg():
    return " ".join((read("/proc/loadavg", "") or "").split()[:3])


def versions(inits, rinit):
    v = {}
    pk = {"tini": "tini", "tini-static": "tini", "dumb-init": "dumb-init", "catatonit": "catatonit",
          "supervisord": "supervisor", "s6-svscan": "s6", "runsvdir": "runit"}
    for i in inits:
        if i.key in pk:
            r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pk[i.key]], capture_output=True, text=True)
            v[i.key] = f"{pk[i.key]} {r.stdout.strip() or '?'} (Debian)"
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                           capture_output=True, text=True).stdout.strip()
    out = subprocess.run([rinit, "--version"], capture_output=True, text=True).stdout.strip()
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(rinit), datetime.timezone.utc)
    v["rinit"] = f"{out} (commit {head}{', src/ modified' if dirty else ''}; binary built {mtime:%Y-%m-%d %H:%M} UTC)"
    return v


def probe_supervisor(ctx, rinit):
    """Is `rinit -c` available in this build?"""
    init = RinitSup(rinit)
    d = tempfile.mkdtemp(dir=ctx.tmp)
    try:
        run = Run(ctx, init, stamp_progs(d, 1), tag="probe")
    except Failed as e:
        return str(e)
    try:
        run.wait_files([os.path.join(d, "started.p1")], 5)
        return None
    except Failed as e:
        return str(e)
    finally:
        run.kill()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 round, small sizes, 2 s idle (development)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--idle", type=float, default=None, help="idle window in seconds (10)")
    ap.add_argument("--log-mb", type=float, default=None, help="MB written by the throughput writer (200)")
    ap.add_argument("--mix-mb", type=float, default=None, help="MB per writer in the 2-writer test (20)")
    ap.add_argument("--orphans", type=int, default=None, help="orphans to reap (5000)")
    ap.add_argument("--rinit", default=RINIT_DEFAULT)
    ap.add_argument("--only", default="", help="comma-separated init keys (rinit, tini, ...); tini is always kept")
    ap.add_argument("--skip", default="", help="comma-separated: startup,escalation,idle,reap,logs,slow,mix")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"), help="output directory (docs)")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 5)
    idle = a.idle if a.idle is not None else (2 if a.quick else 10)
    log_mb = a.log_mb or (20 if a.quick else 200)
    mix_mb = a.mix_mb or (2 if a.quick else 20)
    n_orphans = a.orphans or (1000 if a.quick else 5000)
    slow_mb = 5 if a.quick else 50
    skip = set(filter(None, a.skip.split(",")))

    build_kit()
    ctx = Ctx()
    ctx.unshare = ["unshare", "--pid", "--fork", "--mount-proc"]
    if os.geteuid() != 0:
        ctx.unshare.insert(1, "-Ur")
    ctx.tmp = tempfile.mkdtemp(prefix="rinit-bench.")
    rinit = os.path.abspath(a.rinit)
    if not os.access(rinit, os.X_OK):
        sys.exit(f"{rinit}: not found; run `cargo build --release` first (bench/run does)")

    # Single-file inits run from private copies: PSS would otherwise be
    # shared with whatever else runs the same file on this host (tests of a
    # rinit build running meanwhile, say). Sizes are of the originals.
    bindir = os.path.join(ctx.tmp, "bin")
    os.makedirs(bindir)

    def private(path):
        if not os.access(path, os.X_OK):
            return path
        dst = os.path.join(bindir, os.path.basename(path))
        if not os.path.exists(dst):
            shutil.copy2(path, dst)
        return dst

    originals = {i.key: i.binary for i in make_inits(rinit)}
    inits = make_inits(rinit, private)
    only = set(filter(None, a.only.split(",")))
    missing = [i.key for i in inits if not i.available()]
    inits = [i for i in inits if i.available() and (not only or i.key in only or i.key == "tini")]
    sup_err = probe_supervisor(ctx, rinit)
    if sup_err:
        log(f"rinit supervisor mode not measured: {sup_err}")
        inits = [i for i in inits if i.key != "rinit -c"]
    log_inits = [i for i in inits if not i.reference]
    if not only or "floor" in only:
        inits.append(Floor())
    if not sup_err and (not only or "rinit -c" in only):
        log_inits.insert(log_inits.index(next(i for i in inits if i.key == "rinit -c")) + 1, RinitSup(rinit, "raw"))

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(), "load_start": loadavg(),
        "command": a.command or "python3 bench/run.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
        "rounds": rounds, "idle_s": idle, "log_mb": log_mb, "mix_mb": mix_mb, "orphans": n_orphans,
        "slow_mb": slow_mb, "slow_reader_s": SLOW_READER_S,
        "shutdown_reps": SHUTDOWN_REPS, "settle_s": SETTLE_S,
        "stop_timeout_s": STOP_TIMEOUT_S, "esc_cap_s": ESC_CAP_S, "reap_limit_s": REAP_LIMIT_S,
        "versions": versions(inits, rinit),
        "missing": missing, "supervisor_unavailable": sup_err,
        "sizes": {i.key: elf_info(originals[i.key]) for i in inits if not i.reference},
    }
    started = time.monotonic()
    log(f"{rounds} round(s); load {meta['load_start']}; inits: {', '.join(i.key for i in inits)}")

    # data[key][metric] = list per round (None when that round failed)
    data = {}
    errors = {}

    def put(key, r, res):
        for k, v in res.items():
            if k in ("error", "examples", "slow_examples"):
                continue
            data.setdefault(key, {}).setdefault(k, [None] * rounds)[r] = v
        if "error" in res:
            errors.setdefault(key, []).append(f"round {r + 1}: {res['error']}")
        for ek in ("examples", "slow_examples"):
            if ek in res:
                data.setdefault(key, {}).setdefault(ek, res[ek])

    def attempt(key, r, fn, *args, **kw):
        try:
            put(key, r, fn(*args, **kw))
        except Failed as e:
            put(key, r, {"error": str(e)})
            log(f"  {key}: {e}")

    def rot(xs, r):
        k = r % len(xs)
        return xs[k:] + xs[:k]

    for r in range(rounds):
        meta.setdefault("load_rounds", []).append(loadavg())
        log(f"round {r + 1}/{rounds} (load {loadavg()}, {time.monotonic() - started:.0f} s)")
        if "startup" not in skip:
            for init in rot(inits, r):
                attempt(init.key, r, m_startup, ctx, init)
        peers = [i for i in inits if not i.reference]
        if "escalation" not in skip:
            for init in rot(peers, r):
                attempt(init.key, r, m_escalation, ctx, init)
        if "idle" not in skip:
            for group in ("single", "super"):
                g = rot([i for i in inits if i.mode == group], r)
                for k, res in m_idle_and_shutdowns(ctx, g, idle).items():
                    put(k, r, res)
                    if "error" in res:
                        log(f"  {k}: {res['error']}")
        if "reap" not in skip:
            for init in rot(peers, r):
                attempt(init.key, r, m_reap, ctx, init, n_orphans)
        if "logs" not in skip:
            attempt("pipe", r, m_ceiling, ctx, log_mb)
            for init in rot(log_inits, r):
                attempt(init.key, r, m_logs, ctx, init, log_mb, 1)
            for kind, key in RELAYS.items():
                attempt(key, r, m_relay, ctx, log_mb, kind)
            attempt(GROWN_PIPE, r, lambda: {"mbps": m_ceiling(ctx, log_mb, pipe_size=GROWN_PIPE_SIZE)["mbps"]})
            attempt("pipe", r, lambda: {"mbps_after": m_ceiling(ctx, log_mb)["mbps"]})
            # the ceiling of this round: the better of the two pipe runs
            pb = data.get("pipe", {})
            pair = [x for x in (pb.get("mbps", [None] * rounds)[r], pb.get("mbps_after", [None] * rounds)[r]) if x]
            if pair:
                put("pipe", r, {"ceiling": max(pair)})
        if "slow" not in skip:
            # the init's stdout blocked for a while: only inits that read the
            # programs' output themselves can break a single writer's lines
            for init in rot([i for i in log_inits if i.mode == "super" and i.key not in PASS_THROUGH], r):
                try:
                    res = m_logs(ctx, init, slow_mb, 1, reader_delay_s=SLOW_READER_S)
                    res = {"slow_" + k: v for k, v in res.items() if k in ("broken", "lost")} | (
                        {"slow_examples": res["examples"]} if "examples" in res else {})
                except Failed as e:
                    res = {"error": f"slow reader: {e}"}
                put(init.key, r, res)
        if "mix" not in skip:
            for init in rot(log_inits, r):
                res = {}
                try:
                    res = m_logs(ctx, init, mix_mb, 2)
                    res = {"mix_" + k: v for k, v in res.items() if k != "examples"} | (
                        {"examples": res["examples"]} if "examples" in res else {})
                except Failed as e:
                    res = {"error": f"2 writers: {e}"}
                put(init.key, r, res)
    meta["load_end"] = loadavg()
    meta["elapsed_s"] = round(time.monotonic() - started)
    shutil.rmtree(ctx.tmp, ignore_errors=True)

    os.makedirs(a.out, exist_ok=True)
    result = {"meta": meta, "data": data, "errors": errors,
              "order": [i.key for i in log_inits] + [FLOOR, "pipe"] + LOG_REFERENCES,
              "modes": {i.key: i.mode for i in log_inits + inits}}
    with open(os.path.join(a.out, "benchmarks.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    import report  # noqa: E402  (bench/report.py)
    report.write(result, a.out)
    log(f"done in {meta['elapsed_s']} s: {a.out}/benchmarks.md, benchmarks.png, benchmarks.json")


if __name__ == "__main__":
    main()
