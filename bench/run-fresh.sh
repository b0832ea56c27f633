#!/bin/bash
# What a login pays, one fresh process per session as login and su do:
# N runs of `session-runner SERVICE USER true` (pam_start, open, fork,
# exec true, close, pam_end), with a pam_permit-only stack and with
# pam_nscg, interleaved in the same run; the median of each and the
# difference. As root.
#
#   bench/run-fresh.sh [N]    (300)
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-300}
bench_fixture fresh 'session.memory.max = 1G
session.pids.max = 512
user.cpu.max = 200%'
bench_services

# One timed run, in microseconds.
once() {
	local t0 t1
	t0=$(date +%s%N)
	"$build/session-runner" "$1" "$u" true >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$d/base" >"$d/nscg"
for _ in $(seq "$n"); do
	once nscg-bench-base-$$ >>"$d/base"
	once nscg-bench-nscg-$$ >>"$d/nscg"
done
b=$(median <"$d/base") s=$(median <"$d/nscg")
printf '%-46s %9s\n' "fresh process per session, median of $n" "ms"
printf '%-46s %9.2f\n' "pam_permit only (baseline)" "$(awk -v v="$b" 'BEGIN { print v / 1000 }')"
printf '%-46s %9.2f\n' "pam_nscg" "$(awk -v v="$s" 'BEGIN { print v / 1000 }')"
printf '%-46s %9.2f  (x%.2f)\n' "pam_nscg's part" "$(awk -v a="$s" -v b="$b" 'BEGIN { print (a - b) / 1000 }')" \
	"$(awk -v a="$s" -v b="$b" 'BEGIN { print a / b }')"
