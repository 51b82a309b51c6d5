"""Turn bench/run.py's results into docs/benchmarks.md and docs/benchmarks.png.

Also usable alone, to re-render from the JSON without re-measuring:
    python3 bench/report.py docs/benchmarks.json [OUTDIR]
"""

import json
import math
import os
import statistics
import sys

from run import FLOOR, LOG_REFERENCES  # noqa: E402

TOL_MS = 50  # escalation target: stop_timeout ± 50 ms
REAP_TIE = 1.05  # reaping: ratios this close to 1 are a tie (fork-storm noise)


def summ(xs):
    xs = [x for x in (xs or []) if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def ratio_list(xs, refs):
    out = []
    for x, r in zip(xs or [], refs or []):
        if x is None or r is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(r, float) and math.isnan(r)):
            continue
        out.append((1.0 if x == 0 else math.inf) if r == 0 else x / r)
    return out


def num(v, digits=None):
    if v is None:
        return "–"
    if v == math.inf:
        return "∞"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{v:,.{digits}f}"


def cell(s, digits=None):
    if s is None:
        return "–"
    if s["min"] == s["max"]:
        return num(s["median"], digits)
    return f"{num(s['median'], digits)} ({num(s['min'], digits)}–{num(s['max'], digits)})"


def rcell(rs):
    s = summ(rs)
    if s is None:
        return "–"
    if s["min"] == s["max"]:
        return f"×{num(s['median'], 2)}"
    return f"×{num(s['median'], 2)} ({num(s['min'], 2)}–{num(s['max'], 2)})"


def write(res, out):
    meta, data, order, modes = res["meta"], res["data"], res["order"], res["modes"]
    errors = res.get("errors", {})
    keys = [k for k in order if k in data or k in meta["sizes"]]
    D = lambda k, m: (data.get(k) or {}).get(m)  # noqa: E731
    S = lambda k, m: summ(D(k, m))  # noqa: E731
    R = lambda k, m, ref="tini", refm=None: ratio_list(D(k, m), D(ref, refm or m))  # noqa: E731
    rounds = meta["rounds"]
    mi = meta["machine"]
    md = []
    w = md.append
    w("# rinit benchmarks\n")
    w(f"Measured {meta['date']} on `{mi['host']}`: {mi['cpu']}, {mi['cores']} cores, "
      f"{mi['mem_gib']} GiB RAM, Linux {mi['kernel']}.  ")
    load1 = float(meta["load_start"].split()[0])
    busy = max([load1, float(meta["load_end"].split()[0])]
               + [float(x.split()[0]) for x in meta.get("load_rounds", [])]) > 0.75 * mi["cores"]
    loads = [float(x.split()[0]) for x in meta.get("load_rounds", [])] + [load1]
    w(f"Load average at start `{meta['load_start']}`, at end `{meta['load_end']}`, highest 1-minute load "
      f"at a round's start {max(loads):.2f}"
      + " (the benchmark itself keeps about one core busy)"
      + (" — **the machine was busy** (other builds ran meanwhile), so timings are noisier than on an idle machine."
         if busy else "; judging by the load average, little else ran meanwhile."))
    w("")
    w(f"Command: `{meta['command']}` ({rounds} rounds, {meta['elapsed_s']} s).  ")
    w(f"Every figure is the median of {rounds} rounds with (min–max); ratios are taken pair by pair "
      "within a round against tini (or the raw pipe), then summarised the same way. "
      "Each init runs as the real PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`).\n")
    w("Versions: " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items()) + ".")
    if meta.get("supervisor_unavailable"):
        w(f"\n**rinit's supervisor mode was not measured**: {meta['supervisor_unavailable']}")
    if meta.get("missing"):
        w(f"\nNot installed, skipped: {', '.join(meta['missing'])}.")
    w("")
    w("![chart](benchmarks.png)\n")

    # ---------------------------------------------------------- targets
    w("## Targets\n")
    w("| target | rinit | verdict |")
    w("|---|---|---|")

    def verdict(ok):
        return "n/a" if ok is None else ("**met**" if ok else "**missed**")

    def tgt(name, value, ok):
        w(f"| {name} | {value} | {verdict(ok)} |")

    sup = "rinit -c" if "rinit -c" in data else None
    rs = summ(R(sup, "startup_ms", "tini")) if sup else None
    def floor(m):
        """The same measurement for the minimal init, when it ran."""
        if not sup or not D(FLOOR, m):
            return ""
        return (f"; the floor (a minimal init, 3 programs): {rcell(R(FLOOR, m))} of tini, "
                f"rinit {rcell(R(sup, m, FLOOR))} of the floor")

    tgt("startup to all 3 programs ≤ tini (1 child) ×1.2",
        f"{cell(S(sup, 'startup_ms'))} ms vs tini {cell(S('tini', 'startup_ms'))} ms: {rcell(R(sup, 'startup_ms'))}"
        + floor("startup_ms") if sup else "not measured",
        rs and rs["median"] <= 1.2)
    for k, label in (("rinit", "single-command"), (sup, "3 programs")):
        if not k:
            continue
        rs = summ(R(k, "shutdown_ms"))
        tgt(f"shutdown, cooperative ({label}) ≤ tini ×1.5",
            f"{cell(S(k, 'shutdown_ms'))} ms vs tini {cell(S('tini', 'shutdown_ms'))} ms: {rcell(R(k, 'shutdown_ms'))}"
            + (floor("shutdown_ms") if k == sup else ""),
            rs and rs["median"] <= 1.5)
    if sup:
        ks = S(sup, "esc_killed_ms")
        st = meta["stop_timeout_s"] * 1000
        n_never = sum(1 for x in (D(sup, "esc_killed_ms") or []) if x is None)
        tgt(f"TERM-ignoring program killed at stop_timeout ({st:.0f} ms) ± {TOL_MS} ms",
            (f"killed at {cell(ks)} ms" if ks else "never killed") + (f"; not killed in {n_never} round(s)" if n_never and ks else ""),
            bool(ks) and n_never == 0 and abs(ks["median"] - st) <= TOL_MS)
    for k, label in (("rinit", "1 child"), (sup, "3 programs")):
        if not k:
            continue
        c, t = S(k, "idle_ctxt"), S(k, "idle_ticks")
        tgt(f"idle ({label}): 0 context switches, 0 CPU ticks in {meta['idle_s']:g} s",
            f"{cell(c)} switches, {cell(t)} ticks (every round)" if c else "–",
            c is not None and t is not None and c["max"] == 0 and t["max"] == 0)
    if sup:
        p = S(sup, "pss_kib")
        tgt("PSS ≤ 1.5 MiB with 3 programs", f"{cell(p)} KiB" if p else "–", p and p["median"] <= 1536)
    for k, label in (("rinit", "single-command"), (sup, "supervisor")):
        if not k:
            continue
        rs = summ(R(k, "reap_total_ms"))
        tgt(f"reaping ({label}) at least as fast as tini: first orphan → none left unreaped "
            f"(≤ ×{REAP_TIE:g}: closer is a tie within noise)",
            f"{cell(S(k, 'reap_total_ms'))} ms vs tini {cell(S('tini', 'reap_total_ms'))} ms: "
            f"{rcell(R(k, 'reap_total_ms'))}; after the last orphan {cell(S(k, 'reap_ms'))} vs "
            f"{cell(S('tini', 'reap_ms'))} ms; peak unreaped {cell(S(k, 'reap_peak'), 0)} vs "
            f"{cell(S('tini', 'reap_peak'), 0)}",
            bool(rs) and rs["median"] <= REAP_TIE)
    for k, lim in ((sup, 0.5), ("rinit -c (raw)", 0.8)):
        if not k or k not in data:
            continue
        rs = summ(R(k, "mbps", "pipe", "ceiling"))
        tgt(f"logs `{k}` ≥ {lim}× the pipe ceiling",
            f"{cell(S(k, 'mbps'))} MB/s vs pipe {cell(S('pipe', 'ceiling'))} MB/s: {rcell(R(k, 'mbps', 'pipe', 'ceiling'))}"
            + "".join(f"; {r}: {rcell(R(r, 'mbps', 'pipe', 'ceiling'))}" for r in LOG_REFERENCES if D(r, "mbps")),
            rs and rs["median"] >= lim)
    if sup:
        b = [x for k in (sup, "rinit -c (raw)") for m in ("broken", "mix_broken", "lost", "mix_lost", "slow_broken", "slow_lost")
             for x in (D(k, m) or []) if x is not None]
        def tot(ms):
            return sum(x for k in (sup, "rinit -c (raw)") for m in ms for x in (D(k, m) or []) if x is not None)
        detail = "; ".join(f"{label}: {tot([m])} broken, {tot([m.replace('broken', 'lost')])} not intact"
                           for m, label in (("broken", "1 writer"), ("mix_broken", "2 writers"),
                                            ("slow_broken", "blocked stdout")))
        tgt("logs: 0 broken (or not intact) lines: 1 writer, 2 writers, blocked stdout",
            f"{detail} (sum over all rounds, prefix and raw)" if b else "–", bool(b) and sum(b) == 0)
    if "rinit" in meta["sizes"]:
        size, static = meta["sizes"]["rinit"]
        tgt("binary ≤ 1.5 MB (1,500,000 bytes), static", f"{size:,} bytes, {'static' if static else 'dynamic'}",
            size <= 1_500_000 and bool(static))
    w("")

    # ------------------------------------------------------------ binary
    w("## Binary\n")
    w("| init | mode | PID 1 binary | size (bytes) | static | also needs at run time |")
    w("|---|---|---|---|---|---|")
    from run import make_inits  # noqa: E402
    needs = {i.key: (i.binary, i.needs) for i in make_inits("rinit")}
    for k in keys:
        if k in meta["sizes"]:
            size, static = meta["sizes"][k]
            b, n = needs.get(k, ("", ""))
            w(f"| {k} | {modes.get(k, '')} | `{os.path.basename(b) if k not in ('rinit', 'rinit -c') else 'rinit'}` "
              f"| {size:,} | {'yes' if static else 'no' if static is False else 'script'} | {n or '–'} |")
    w("")

    def table(title, intro, cols, rows_for):
        if not any(rows_for(k) for k in keys if k != "pipe" and k in data):
            return
        w(f"## {title}\n")
        if intro:
            w(intro + "\n")
        w("| init | " + " | ".join(cols) + " |")
        w("|---" * (len(cols) + 1) + "|")
        for k in keys:
            if k == "pipe" or k not in data:
                continue
            row = rows_for(k)
            if row is not None:
                w(f"| {k} | " + " | ".join(row) + " |")
        w("")

    def has(k, *ms):
        return any(D(k, m) for m in ms)

    table("Startup",
          "From the init's `execve` (stamped by the launcher just before it) to the program's own start stamp; "
          "for supervisors, to the last of 3 programs; each round's figure is the median of 3 start-ups. "
          "s6 and runit start programs through a `#!/bin/sh` run script, "
          f"as they are used. *{FLOOR}* is not a peer but the floor on this machine: `benchkit init`, a static "
          "binary that forks and execs the 3 programs at once, with no configuration to read and nothing else "
          "to set up (on 2 cores the third program's exec waits for a free core).",
          ["programs", "startup (ms)", "× tini (1 child)"],
          lambda k: [str(3 if modes[k] == "super" else 1), cell(S(k, "startup_ms")), rcell(R(k, "startup_ms"))]
          if has(k, "startup_ms") else None)

    table("Shutdown, cooperative programs",
          "SIGTERM to PID 1 → PID 1 gone (pidfd), with programs that die on SIGTERM; "
          + (f"each round's figure is the median of {meta['shutdown_reps']} shutdowns, one after the idle window "
             f"({meta['idle_s']:g} s) and {meta['shutdown_reps'] - 1} after the programs have run for "
             f"{meta['settle_s']:g} s. " if meta.get("shutdown_reps", 1) > 1 else
             f"the programs have been running for {meta['idle_s']:g} s. ")
          + "runsvdir exits at once on SIGTERM without stopping its services; the kernel "
          f"then SIGKILLs the namespace. *{FLOOR}* forwards SIGTERM to its 3 programs, reaps them and exits.",
          ["programs", "shutdown (ms)", "× tini"],
          lambda k: [str(3 if modes[k] == "super" else 1), cell(S(k, "shutdown_ms")), rcell(R(k, "shutdown_ms"))]
          if has(k, "shutdown_ms") else None)

    caps = meta.get("esc_cap_s", {"single": 2.5, "super": 2.5})

    def esc(k):
        if not has(k, "esc_gone_ms", "esc_term_ms", "esc_killed_ms"):
            return None
        def c(m):
            xs = D(k, m) or []
            never = sum(1 for x in xs if x is None)
            s = summ(xs)
            if s is None:
                return f"never (> {caps[modes[k]]:g} s)"
            return cell(s) + (f"; never in {never} round(s)" if never else "")
        ks = S(k, "esc_killed_ms")
        st = meta["stop_timeout_s"] * 1000
        term = S(k, "esc_term_ms")
        note = ("no escalation: PID 1 waits as long as the program lives" if ks is None else
                "never sent SIGTERM: PID 1 exits at once and the kernel SIGKILLs the namespace"
                if term is None and ks["median"] < st / 2 else
                f"killed {ks['median'] - st:+.0f} ms from stop_timeout" if modes[k] == "super" else "")
        return [c("esc_term_ms"), c("esc_killed_ms"), c("esc_gone_ms"), note]

    table("Shutdown, one program ignores SIGTERM",
          f"The supervisors get `stop_timeout` {meta['stop_timeout_s']:g} s (rinit `stop_timeout`, supervisord "
          "`stopwaitsecs`, s6 `timeout-kill`; runit has none). Times from SIGTERM to PID 1: when the program "
          f"received SIGTERM, when it died, when PID 1 was gone; the run is cut at {caps['single']:g} s "
          f"(single-command inits) or {caps['super']:g} s (supervisors).",
          ["TERM reached the program (ms)", "program killed (ms)", "PID 1 gone (ms)", "note"], esc)

    def idle(k):
        if not has(k, "pss_kib"):
            return None
        return [str(3 if modes[k] == "super" else 1), cell(S(k, "rss_kib"), 0), cell(S(k, "pss_kib"), 0),
                rcell(R(k, "pss_kib")), cell(S(k, "idle_ctxt"), 0), cell(S(k, "idle_ticks"), 0),
                cell(S(k, "tree_procs"), 0), cell(S(k, "tree_pss_kib"), 0), cell(S(k, "tree_ctxt"), 0),
                cell(S(k, "tree_ticks"), 0)]

    table("Idle",
          f"PID 1 after the programs have run for {meta['idle_s']:g} s: RSS and PSS (`/proc/PID/smaps_rollup`), "
          f"context switches and CPU ticks (utime+stime, 1/100 s) over {meta['idle_s']:g} s of idleness. "
          "\"Tree\" adds the init's helper processes (s6-supervise, runsv), not the programs. PSS shares pages "
          "with every other process mapping the same file, so dynamic inits look smaller here (their libc is "
          "shared with the whole host) than alone in a container; the single-file inits run from private "
          "copies of their binaries, so nothing else on the host shares their own pages.",
          ["programs", "RSS (KiB)", "PSS (KiB)", "PSS × tini", "ctx switches", "CPU ticks",
           "tree procs", "tree PSS (KiB)", "tree ctx switches", "tree CPU ticks"], idle)

    def reap_cell(k):
        left = [x for x in (D(k, "reap_left") or []) if x]
        c = cell(S(k, "reap_ms"))
        if left:
            lim = meta.get("reap_limit_s", 30)
            c = (c + "; " if S(k, "reap_ms") else "") + f"> {lim:g} s with {cell(summ(left), 0)} still unreaped in {len(left)} round(s)"
        return c

    table("Zombie reaping",
          f"{meta['orphans']} double-forked orphans that exit at once (they become zombies of PID 1). "
          "A program under the init creates them and samples PID 1's child list; time from the last orphan "
          "created until none is left unreaped, the whole run, and the peak number seen unreaped. "
          "The whole run is dominated by the 2×N forks; the init's share is how much it slows them and "
          "how many zombies it lets pile up.",
          ["first orphan → none unreaped (ms)", "× tini", "last orphan → none unreaped (ms)", "× tini",
           "peak unreaped"],
          lambda k: [cell(S(k, "reap_total_ms")), rcell(R(k, "reap_total_ms")), reap_cell(k),
                     rcell(R(k, "reap_ms")), cell(S(k, "reap_peak"), 0)] if has(k, "reap_ms", "reap_peak") else None)

    def logs(k):
        if not has(k, "mbps", "mix_broken"):
            return None
        return [cell(S(k, "mbps"), 0), rcell(R(k, "mbps", "pipe", "ceiling")), cell(S(k, "broken"), 0),
                cell(S(k, "lost"), 0), cell(S(k, "mix_broken"), 0), cell(S(k, "mix_lost"), 0),
                cell(S(k, "slow_broken"), 0), cell(S(k, "slow_lost"), 0)]

    show_logs = any(logs(k) for k in keys if k != "pipe" and k in data)
    if show_logs:
        w("## Logs\n")
    w = (lambda line: None) if not show_logs else md.append
    w(f"One program writes {meta['log_mb']:g} MB of numbered 100-byte lines in 4 KiB `write()`s (as stdio "
      "does on a pipe: lines straddle writes) to the init's stdout, a pipe read by a verifying reader; MB/s of "
      "program output from its first to its last line arriving. The pipe ceiling is the same writer piped "
      "straight into the same reader, measured in the same round before and after the inits "
      f"({cell(S('pipe', 'mbps'), 0)} and {cell(S('pipe', 'mbps_after'), 0)} MB/s; the better of the two is "
      "the round's ceiling: pipe throughput on 2 cores depends a lot on where the scheduler puts writer "
      "and reader). The *relays* are not inits but what any process in the middle costs, measured in the same "
      "round: the same writer and reader with `benchkit relay` between them, moving the bytes by splice(2) "
      "(nothing copied, no look at the data) or by read/write of 64 KiB; and the bare pipe again, grown to 1 MiB "
      "as rinit grows its stdout pipe (what a bigger pipe alone gives). *Lines not intact* counts program lines that did not arrive whole and in order. "
      f"Then two programs write {meta['mix_mb']:g} MB each concurrently; a line is *broken* when it is not "
      "exactly one whole line of one program (cut, or mixed with the other's bytes). Single-command inits and "
      "s6/runit pass the programs' stdout through untouched (the programs write to the same pipe), so their "
      "broken lines are what programs get without a log multiplexer.\n")
    if meta.get("slow_mb"):
        w(f"*Blocked stdout*: one program writes {meta['slow_mb']:g} MB as above, but the reader starts "
          f"{meta['slow_reader_s']:g} s late, so the init's stdout is full and a log multiplexer has to hold back "
          "(run only for the inits that read the programs' output themselves).\n")
    w("| init | MB/s | × pipe ceiling | broken lines | lines not intact | 2 writers: broken lines | 2 writers: lines not intact "
      "| blocked stdout: broken lines | blocked stdout: lines not intact |")
    w("|---|---|---|---|---|---|---|---|---|")
    if "pipe" in data:
        w(f"| *pipe ceiling* | {cell(S('pipe', 'ceiling'), 0)} | ×1 | {cell(S('pipe', 'broken'), 0)} | "
          f"{cell(S('pipe', 'lost'), 0)} | | | | |")
    for k in keys:
        if k != "pipe" and k in data:
            row = logs(k)
            if row:
                w(f"| {k} | " + " | ".join(row) + " |")
    w("")
    w = md.append
    for ek, title in (("examples", "Examples of broken lines"), ("slow_examples", "Broken lines with a blocked stdout")):
        ex = {k: data[k][ek] for k in keys if k in data and data[k].get(ek)}
        if ex:
            w(f"{title} (first 160 bytes):\n")
            for k, v in ex.items():
                for e in v[:2]:
                    w(f"- {k}: `{e[:160].replace('`', '')}`")
            w("")

    if errors:
        w("## Failures\n")
        for k, es in errors.items():
            for e in es:
                w(f"- {k}: {e}")
        w("")

    with open(os.path.join(out, "benchmarks.md"), "w") as f:
        f.write("\n".join(md))
    chart(res, out)


def chart(res, out):
    try:
        import matplotlib
    except ImportError:
        sys.exit(f"{out}/benchmarks.md is written; the chart needs matplotlib "
                 "(apt-get install python3-matplotlib; run this with /usr/bin/python3)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data, meta, modes = res["data"], res["meta"], res["modes"]
    keys = [k for k in res["order"] if k in data and k != "pipe"]
    panels = [
        ("startup_ms", "startup: exec → program(s) started (ms)", True),
        ("shutdown_ms", "shutdown, cooperative (ms)", True),
        ("esc_killed_ms", f"TERM-ignoring program killed (ms; stop_timeout {meta['stop_timeout_s']:g} s)", False),
        ("pss_kib", "idle PID 1 PSS (KiB)", True),
        ("reap_total_ms", f"reaping {meta['orphans']} orphans: first → none unreaped (ms)", True),
        ("mbps", f"log throughput, 1 writer (MB/s)", False),
    ]
    panels += [
        ("idle_ctxt", f"idle PID 1 context switches in {meta['idle_s']:g} s", False),
        ("mix_broken", "2 writers, 4 KiB chunks: broken lines", False),
        ("size_kb", "PID 1 binary size (KB; hatched = dynamic)", False),
    ]
    for k in keys:  # sizes as a one-value series so they plot like the rest
        if k in meta["sizes"]:
            data[k]["size_kb"] = [meta["sizes"][k][0] / 1000]
    fig, axes = plt.subplots(3, 3, figsize=(16, 12))
    for ax, (m, title, logx) in zip(axes.flat, panels):
        esc = m == "esc_killed_ms"
        ks = [k for k in keys if summ((data[k] or {}).get(m)) or (esc and (data[k] or {}).get("esc_gone_ms"))]
        if esc:
            ks = [k for k in keys if "esc_gone_ms" in data[k] or "esc_killed_ms" in data[k]]
        meds, lo, hi, colors = [], [], [], []
        never = []
        for k in ks:
            s = summ(data[k].get(m))
            if s is None:  # escalation never happened: a hatched bar at the cut-off
                cap = meta.get("esc_cap_s", {}).get(modes.get(k), 2.5) * 1000
                s = {"median": cap, "min": cap, "max": cap}
                never.append(k)
            meds.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
            colors.append("#d62728" if k.startswith("rinit") else "#1f77b4" if k == "tini" else
                          "#dddddd" if k == FLOOR or k in LOG_REFERENCES else  # floors, not peers
                          "#7f7f7f" if modes.get(k) == "single" else "#9467bd")
        y = range(len(ks))
        bars = ax.barh(list(y), meds, xerr=[lo, hi], color=colors, capsize=3)
        for b, k in zip(bars, ks):
            if m == "size_kb" and not meta["sizes"][k][1]:
                b.set_hatch("..")
                if meta["sizes"][k][1] is None:
                    ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " script (runs on python3)",
                            va="center", fontsize=8)
            if b.get_width() == 0:
                ax.text(0, b.get_y() + b.get_height() / 2, " 0", va="center", fontsize=8)
            if esc and k not in never and data[k].get("esc_term_ms") and all(x is None for x in data[k]["esc_term_ms"]):
                ax.text(b.get_width(), b.get_y() + b.get_height() / 2,
                        " killed at once, no SIGTERM (PID 1 exits)", va="center", fontsize=8)
            if k in never:
                b.set_hatch("//")
                b.set_alpha(0.35)
                ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " never killed (cut)", va="center", fontsize=8)
        ax.set_yticks(list(y))
        ax.set_yticklabels(ks)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        if logx and meds and min(meds) > 0:
            ax.set_xscale("log")
        if m == "mbps" and summ(data.get("pipe", {}).get("ceiling")):
            ax.axvline(summ(data["pipe"]["ceiling"])["median"], color="k", ls="--", lw=1, label="pipe ceiling")
            ax.legend(fontsize=8, loc="lower right")
        if m == "esc_killed_ms":
            ax.axvline(meta["stop_timeout_s"] * 1000, color="k", ls="--", lw=1, label="stop_timeout")
            ax.legend(fontsize=8, loc="lower right")
        if m == "pss_kib":
            ax.axvline(1536, color="k", ls=":", lw=1, label="1.5 MiB target")
            ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"rinit vs peers as PID 1 — median of {meta['rounds']} rounds, bars min–max; "
                 f"{meta['date']}, {meta['machine']['cores']} cores {meta['machine']['cpu']}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(os.path.join(out, "benchmarks.png"), dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    with open(sys.argv[1]) as f:
        r = json.load(f)
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    write(r, out)
