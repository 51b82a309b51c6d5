#!/usr/bin/env bash
# PID 1 at rest, rinit beside tini: binary size, static or not, RSS and PSS
# of the init while it supervises one idle child, and its context switches
# over an idle period. Each init runs as the real PID 1 of a fresh PID
# namespace. Needs root (or unshare -Ur), and Debian's `tini` package for the
# peers. Usage: bench/pid1_idle.sh [ROUNDS] [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
idle=${2:-10}
cargo build --release --quiet
rinit=target/x86_64-unknown-linux-gnu/release/rinit
inits=("$rinit")
for peer in /usr/bin/tini-static /usr/bin/tini; do
  [ -x "$peer" ] && inits+=("$peer") || echo "note: $peer missing (apt-get install tini)" >&2
done
flags=(); [ "$(id -u)" = 0 ] || flags=(-Ur)

# host pid of the init: the only child of the unshare process
init_pid() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }
field() { awk -v k="$2:" '$1==k {print $2}' "$1"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| init | size (bytes) | static | RSS (KiB) | PSS (KiB) | ctxt switches in %ss idle |\n|---|---|---|---|---|---|\n' "$idle"
for init in "${inits[@]}"; do
  rss=(); pss=(); cs=()
  for _ in $(seq "$rounds"); do
    unshare "${flags[@]}" --pid --fork --mount-proc "$init" -- sleep 100000 &
    ush=$!
    pid=""
    for _ in $(seq 500); do pid=$(init_pid "$ush"); [ -n "$pid" ] && [ -n "$(init_pid "$pid")" ] && break; sleep 0.01; done
    [ -n "$pid" ] || { echo "init did not start" >&2; exit 1; }
    before=$(( $(field /proc/$pid/status voluntary_ctxt_switches) + $(field /proc/$pid/status nonvoluntary_ctxt_switches) ))
    sleep "$idle"   # the measurement window itself
    after=$(( $(field /proc/$pid/status voluntary_ctxt_switches) + $(field /proc/$pid/status nonvoluntary_ctxt_switches) ))
    rss+=("$(field /proc/$pid/status VmRSS)")
    pss+=("$(field /proc/$pid/smaps_rollup Pss)")
    cs+=("$((after - before))")
    kill -TERM "$pid"; wait "$ush" 2>/dev/null || true
  done
  size=$(stat -c %s "$init")
  static=$(file -L "$init" | grep -q 'static' && echo yes || echo no)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$(basename "$init")" "$size" "$static" \
    "$(printf '%s\n' "${rss[@]}" | median)" "$(printf '%s\n' "${pss[@]}" | median)" "$(printf '%s\n' "${cs[@]}" | median)"
done
echo
echo "medians of $rounds rounds; $(nproc) cores; $(uname -r); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
