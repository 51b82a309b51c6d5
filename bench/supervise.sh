#!/usr/bin/env bash
# Supervisor mode at rest: PID 1's RSS and PSS supervising 3 and 50 programs,
# the time from exec to all 3 programs started, and wake-ups (context
# switches) over an idle period. rinit runs as the real PID 1 of a fresh PID
# namespace. For reference, the same start-up figure for tini starting one
# child, measured in the same round. Needs root (or unshare -Ur).
# Usage: bench/supervise.sh [ROUNDS] [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
idle=${2:-10}
cargo build --release --quiet
rinit=$PWD/target/x86_64-unknown-linux-gnu/release/rinit
flags=(); [ "$(id -u)" = 0 ] || flags=(-Ur)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# Each program stamps the time it started (ns), then idles.
stamp_cmd() { echo "date +%s%N > $work/started.\$RINIT_PROGRAM.\$RINIT_INSTANCE; exec sleep 100000"; }
make_config() { # N -> path
  local n=$1 f=$work/n$1.toml
  { echo '[rinit]'; echo 'shutdown_timeout = "2s"'
    for i in $(seq "$n"); do
      printf '[[program]]\nname = "p%d"\ncommand = "%s"\nstdout = "null"\n' "$i" "$(stamp_cmd)"
    done; } > "$f"
  echo "$f"
}
init_pid() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }
nchildren() { wc -w < "/proc/$1/task/$1/children" 2>/dev/null || echo 0; }
field() { awk -v k="$2:" '$1==k {print $2}' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wait_for() { for _ in $(seq 2000); do eval "$1" && return 0; sleep 0.005; done; echo "timeout: $1" >&2; return 1; }

# one run: N programs; prints "startup_us rss_kib pss_kib ctxt"
run_rinit() {
  local n=$1 cfg; cfg=$(make_config "$n"); rm -f "$work"/started.*
  local t0; t0=$(date +%s%N)
  unshare "${flags[@]}" --pid --fork --mount-proc "$rinit" -c "$cfg" & local ush=$!
  wait_for '[ "$(ls "$work" | grep -c started)" -ge '"$n"' ]'
  local last; last=$(cat "$work"/started.* | sort -n | tail -1)
  local pid; pid=$(init_pid "$ush")
  wait_for '[ "$(nchildren '"$pid"')" -ge '"$n"' ]'
  local cs0 cs1 rss pss
  sleep 1.5   # past start_secs (1 s): the starting -> running timers are due
  cs0=$(( $(field /proc/$pid/status voluntary_ctxt_switches) + $(field /proc/$pid/status nonvoluntary_ctxt_switches) ))
  [ "$idle" -gt 0 ] && sleep "$idle"   # the idle window being measured
  cs1=$(( $(field /proc/$pid/status voluntary_ctxt_switches) + $(field /proc/$pid/status nonvoluntary_ctxt_switches) ))
  rss=$(field /proc/$pid/status VmRSS); pss=$(field /proc/$pid/smaps_rollup Pss)
  kill -TERM "$pid"; wait "$ush" || true
  echo "$(( (last - t0) / 1000 )) $rss $pss $((cs1 - cs0))"
}
run_tini() {
  rm -f "$work"/started.*
  local t0; t0=$(date +%s%N)
  RINIT_PROGRAM=tini RINIT_INSTANCE=0 unshare "${flags[@]}" --pid --fork --mount-proc /usr/bin/tini -- sh -c "$(stamp_cmd)" & local ush=$!
  wait_for '[ -s "$work/started.tini.0" ]'
  local last; last=$(cat "$work/started.tini.0")
  kill -TERM "$(init_pid "$ush")"; wait "$ush" || true
  echo $(( (last - t0) / 1000 ))
}

declare -a s3 r3 p3 c3 r50 p50 c50 st
for _ in $(seq "$rounds"); do
  read -r s r p c < <(run_rinit 3); s3+=("$s"); r3+=("$r"); p3+=("$p"); c3+=("$c")
  read -r _ r p c < <(idle=0 run_rinit 50); r50+=("$r"); p50+=("$p"); c50+=("$c")
  [ -x /usr/bin/tini ] && st+=("$(run_tini)")
done
m() { printf '%s\n' "$@" | median; }
echo "| measure | rinit, 3 programs | rinit, 50 programs | tini, 1 child |"
echo "|---|---|---|---|"
echo "| exec → all programs started (µs, incl. unshare + sh) | $(m "${s3[@]}") | – | ${st:+$(m "${st[@]}")} |"
echo "| PID 1 RSS (KiB) | $(m "${r3[@]}") | $(m "${r50[@]}") | – |"
echo "| PID 1 PSS (KiB) | $(m "${p3[@]}") | $(m "${p50[@]}") | – |"
echo "| context switches in ${idle}s idle | $(m "${c3[@]}") | – | – |"
echo
echo "medians of $rounds rounds; $(nproc) cores; $(uname -r); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
