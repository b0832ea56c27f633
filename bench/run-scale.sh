#!/bin/bash
# 200 sessions held open at once (session-runner, one process each, as
# login would hold them): the time to open the 1st..200th, and the
# memory (RSS) of the callers, beside a pam_permit-only caller measured
# in the same run. As root.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-200}
bench_fixture scale 'session.memory.max = 256M'
bench_services

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
"$build/session-runner" nscg-bench-base-$$ "$u" sleep 600 2>/dev/null & base=$!
sleep 0.3
base_rss=$(rss_kb $base)
kill $base 2>/dev/null; pkill -u "$u" sleep || true; wait $base 2>/dev/null || true

pids=()
for i in $(seq "$n"); do
	"$build/session-runner" --time nscg-bench-nscg-$$ "$u" sleep 600 2>"$d/t.$i" & pids+=($!)
	for _ in $(seq 200); do grep -q open_us "$d/t.$i" 2>/dev/null && break; sleep 0.01; done
done
times=$(for i in $(seq "$n"); do sed -n 's/open_us=//p' "$d/t.$i"; done)
first10=$(head -10 <<<"$times" | sort -n | sed -n 5p)
last10=$(tail -10 <<<"$times" | sort -n | sed -n 5p)
total=0
for p in "${pids[@]}"; do total=$((total + $(rss_kb "$p"))); done
open=$(ls -d /sys/fs/cgroup/memory/"$parent"/user-*/session-* | wc -l)
echo "sessions held open: $open"
printf '%-44s %10s\n' "" "value"
printf '%-44s %10s\n' "caller RSS, pam_permit only (baseline)" "${base_rss} kB"
printf '%-44s %10s\n' "caller RSS, pam_nscg, mean over $n" "$((total / n)) kB"
printf '%-44s %10s\n' "open time, sessions 1-10 (median)" "$((first10 / 1000)).$(printf %03d $((first10 % 1000))) ms"
printf '%-44s %10s\n' "open time, sessions $((n - 9))-$n (median)" "$((last10 / 1000)).$(printf %03d $((last10 % 1000))) ms"
pkill -u "$u" sleep || true
for p in "${pids[@]}"; do wait "$p" || true; done
echo "after logout: $(ls -d /sys/fs/cgroup/memory/"$parent"/user-* 2>/dev/null | wc -l) user cgroups left"
