#!/bin/bash
# nscgctl status over many live sessions: USERS users with PER sessions
# each (default 10 x 100 = 1,000), each session a session-runner holding
# it open as login would. Each figure is the median of 7 runs, each a
# fresh nscgctl process, beside a baseline measured in the same run: one
# cat(1) of every file status reads (the records and each session's and
# user's cgroup files), the kernel's own cost of the reads. Also: one
# user's status through the watcher of one of their sessions, and what a
# watcher costs (its RSS). As root.
#
#   bench/run-status.sh [USERS [PER]]
set -eu
. "$(dirname "$0")/common.sh"
users=${1:-10} per=${2:-100}
bench_fixture status 'session.memory.max = 256M
user.memory.max = 4G'
bench_services
svc=nscg-bench-nscg-$$
names=("$u")
for i in $(seq 2 "$users"); do
	useradd -M -N -s /bin/sh "$u-$i"
	names+=("$u-$i")
done
extra_cleanup() {
	local n id
	for n in "${names[@]}"; do
		pkill -KILL -u "$n" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for n in "${names[@]:1}"; do
		id=$(id -u "$n" 2>/dev/null) && rm -f /run/nscg/sessions/uid-"$id".* /run/nscg/uid-"$id".*
		userdel "$n" 2>/dev/null || true
	done
	bench_cleanup
}
trap extra_cleanup EXIT

total=$((users * per))
echo "opening $total sessions ($users users x $per)..."
live() { ls -d /sys/fs/cgroup/unified/"$parent"/user-*/session-* 2>/dev/null | wc -l; }
k=0
for n in "${names[@]}"; do
	for _ in $(seq "$per"); do
		"$build/session-runner" "$svc" "$n" sleep 3600 >/dev/null 2>&1 &
	done
	# A user at a time: the machine has few cores.
	k=$((k + per))
	for _ in $(seq 600); do
		[ "$(live)" -ge "$k" ] && break
		sleep 0.1
	done
done
sleep 1
open=$(live)
watchers=$(pgrep -c -x nscg-watch || true)
echo "sessions live: $open, watchers: $watchers"

ms() { # CMD...: the median wall time of 7 runs, in ms
	local t0 t1 i
	for i in 1 2 3 4 5 6 7; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | sed -n 4p | awk '{ printf "%.1f", $1 / 1000 }'
}
# What status reads, listed once: the cat is timed, not the listing.
files=$d/files
{
	ls -d /run/nscg/sessions/uid-*
	for h in /sys/fs/cgroup/*/"$parent"; do
		for c in "$h"/user-* "$h"/user-*/session-*; do
			for f in memory.usage_in_bytes memory.max_usage_in_bytes memory.limit_in_bytes \
				memory.oom_control cpuacct.usage cpu.stat pids.current pids.max \
				memory.current memory.peak memory.max memory.events; do
				[ -e "$c/$f" ] && echo "$c/$f"
			done
		done
	done
} >"$files"
nfiles=$(wc -l <"$files")
base=$(ms sh -c "xargs cat <'$files'")
st=$(ms "$build/nscgctl" status)
js=$(ms "$build/nscgctl" status --json)
me=$(ms "$build/nscgctl" metrics)
uid1=$(id -u "$u")
# A copy the user can reach, wherever the checkout is.
install -m 0755 "$build/nscgctl" "$d/nscgctl"
us=$(ms setpriv --reuid="$uid1" --regid=65534 --clear-groups "$d/nscgctl" status)
rows=$("$build/nscgctl" status --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(len(j["sessions"]), len(j["users"]))')
urows=$(setpriv --reuid="$uid1" --regid=65534 --clear-groups "$d/nscgctl" status --json |
	python3 -c 'import json,sys; j=json.load(sys.stdin); print(len(j["sessions"]))')
rss=$(for p in $(pgrep -x nscg-watch); do awk '/^VmRSS/ { print $2 }' /proc/"$p"/status; done |
	awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }')
pss=$(for p in $(pgrep -x nscg-watch | head -50); do awk '/^Pss:/ { s += $2 } END { print s }' /proc/"$p"/smaps_rollup; done |
	awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }')

printf '\n%-58s %12s\n' "$open live sessions of $users users" "median of 7"
printf '%-58s %9s ms\n' "baseline: cat of the $nfiles files status reads" "$base"
printf '%-58s %9s ms\n' "nscgctl status (table; $rows sessions/users listed)" "$st"
printf '%-58s %9s ms\n' "nscgctl status --json" "$js"
printf '%-58s %9s ms\n' "nscgctl metrics" "$me"
printf '%-58s %9s ms\n' "nscgctl status as a user, by a watcher ($urows sessions)" "$us"
printf '%-58s %9s kB\n' "a watcher's RSS (mean over $watchers)" "$rss"
printf '%-58s %9s kB\n' "a watcher's PSS (mean over 50)" "$pss"
