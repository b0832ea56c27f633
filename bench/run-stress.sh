#!/bin/bash
# The sandbox under load, as root: what is left behind, and how long
# until everything is clean.
#
#   bench/run-stress.sh [SEQUENTIAL KILLED CONCURRENT]    (10000 1000 500)
#
# 1. SEQUENTIAL sessions one after another, each opened and closed by a
#    fresh process (session-runner, as login and su do), each leaving a
#    process behind for close to kill;
# 2. KILLED callers SIGKILLed while their session is open (50 at a time),
#    their sessions' processes still running: nobody closes those
#    sessions; a login of another user and `nscgctl gc` (what the
#    packages run every minute) must finish them;
# 3. CONCURRENT ssh logins at once through a real sshd on 127.0.0.1
#    (MaxStartups raised), each leaving a process behind.
# Each phase prints its failures, the sessions left in any hierarchy
# right after it and the time until none is left, and the host's cgroup
# counts before and after (v1: /proc/cgroups; v2: nr_dying_descendants).
# With --check it also prints PASS/FAIL lines: no failure, nothing left
# (the small run that `make test` does).
set -u
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
n_seq=${1:-10000} n_kill=${2:-1000} n_ssh=${3:-500}
. "$(dirname "$0")/../tests/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: stress (needs root)"; exit 77; }
RUN=$BUILD/session-runner
CTL=$BUILD/nscgctl

result() { # NAME OK DETAIL
	[ "$check" = 1 ] || return 0
	if [ "$2" = 1 ]; then pass "stress/$1"; else fail "stress/$1" "$3"; fi
}
# Session cgroups of our parent, counted once whatever the hierarchies
# (a glob, no process per directory: there may be thousands).
left() {
	local -A seen=()
	local p
	for p in /sys/fs/cgroup/*/"$parent"/user-*/session-* /sys/fs/cgroup/"$parent"/user-*/session-*; do
		[ -d "$p" ] && seen[${p##*/}]=1
	done
	echo ${#seen[@]}
}
# Seconds (tenths) until no session is left, at most $1 s.
until_clean() {
	local t=0 max=$(($1 * 10))
	while [ "$(left)" -gt 0 ] && [ $t -lt $max ]; do
		sleep 0.1
		t=$((t + 1))
	done
	echo "$((t / 10)).$((t % 10))"
}
cgroup_counts() {
	if [ -f /sys/fs/cgroup/cgroup.stat ]; then
		echo "v2 nr_descendants $(awk '$1 == "nr_descendants" {print $2}' /sys/fs/cgroup/cgroup.stat)," \
			"nr_dying_descendants $(awk '$1 == "nr_dying_descendants" {print $2}' /sys/fs/cgroup/cgroup.stat)"
	else
		echo "v1 $(awk '$1 == "memory" || $1 == "pids" || $1 == "cpu" {printf "%s %s, ", $1, $3}' /proc/cgroups)" \
			"unified nr_dying_descendants $(awk '$1 == "nr_dying_descendants" {print $2}' /sys/fs/cgroup/unified/cgroup.stat 2>/dev/null)"
	fi
}
# opened PID: the caller PID has opened its session and forked the
# user's child (the helper it forks while opening is root's). Builtins
# only: there are fifty callers to ask at each look.
opened() {
	local c k v
	read -r c 2>/dev/null <"/proc/$1/task/$1/children" || [ -n "$c" ] || return 1
	for c in $c; do
		while read -r k v _; do
			[ "$k" = Uid: ] && [ "$v" = "$uid" ] && return 0
		done <"/proc/$c/status"
	done 2>/dev/null
	return 1
}
all_opened() { local p; for p in "$@"; do opened "$p" || return 1; done; }
# elapsed T0 T1 [DIVISOR [SCALE]]: (T1 - T0) * SCALE / DIVISOR, one decimal.
elapsed() { awk -v a="$1" -v b="$2" -v n="${3:-1}" -v k="${4:-1}" 'BEGIN { printf "%.1f", (b - a) * k / n }'; }

session_fixture nscgt-z
write_policy "" ""
cat >/etc/pam.d/$svc <<EOC
auth     required pam_permit.so
account  required pam_permit.so
session  required $BUILD/pam_nscg.so conf=$d/nscg.conf
session  required pam_permit.so
EOC
echo "cgroups before: $(cgroup_counts)"

# 1. Sequential sessions, one fresh process each.
[ "$n_seq" -gt 0 ] && {
bad=0
t0=$(date +%s.%N)
for i in $(seq "$n_seq"); do
	"$RUN" "$svc" "$u" sh -c 'sleep 1000 & exit 0' >/dev/null 2>>"$d/failures" || bad=$((bad + 1))
done
t1=$(date +%s.%N)
l=$(left) c=$(until_clean $((2 * WAIT)))
printf 'sequential: %d sessions, %d failed, %s ms each, %d left after, clean after %s s, %d processes left\n' \
	"$n_seq" "$bad" "$(elapsed "$t0" "$t1" "$n_seq" 1000)" "$l" "$c" "$(procs_of "$u")"
result sequential-no-failure "$([ $bad = 0 ] && echo 1)" "$bad failed"
result sequential-nothing-left "$([ "$(left)" = 0 ] && [ "$(procs_of "$u")" = 0 ] && echo 1)" \
	"$(left) sessions, $(procs_of "$u") processes"
}

# 2. Callers killed while their session is open.
[ "$n_kill" -gt 0 ] && {
bad=0
for ((i = 0; i < n_kill; i += 50)); do
	pids=()
	for ((j = i; j < i + 50 && j < n_kill; j++)); do
		"$RUN" "$svc" "$u" sh -c 'sleep 1000 & sleep 1000' >/dev/null 2>&1 & pids+=($!)
	done
	# Killed once open. (Not by counting the user's processes: each
	# login sweeps the sessions of callers killed before.)
	wait_for all_opened "${pids[@]}" || bad=$((bad + 1))
	kill -KILL "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
done
l=$(left)
# Nobody will close those: another login sweeps (rate-limited), then gc.
rm -f /run/nscg/sweep.stamp
u2=nscgt-y$$
useradd -M -N -s /bin/sh "$u2"
on_exit "userdel '$u2' 2>/dev/null; rm -f /run/nscg/uid-$(id -u "$u2" 2>/dev/null).lock"
"$RUN" "$svc" "$u2" true >/dev/null 2>&1 || bad=$((bad + 1))
after_login=$(left)
t0=$(date +%s.%N)
"$CTL" gc --quiet --conf "$d/nscg.conf" || bad=$((bad + 1))
t1=$(date +%s.%N)
printf 'killed callers: %d, %d left, %d after another login swept for 0.5 s, %d after nscgctl gc (%s s), %d processes left\n' \
	"$n_kill" "$l" "$after_login" "$(left)" "$(elapsed "$t0" "$t1")" "$(procs_of "$u")"
result killed-nothing-left "$([ "$(left)" = 0 ] && [ "$(procs_of "$u")" = 0 ] && [ $bad = 0 ] && echo 1)" \
	"$(left) sessions, $(procs_of "$u") processes, $bad failed"
[ -z "$(ls /run/nscg/sessions/uid-"$uid".* 2>/dev/null)" ] && r=1 || r=0
result killed-no-records "$r" "$(ls /run/nscg/sessions | head)"
}

# 3. Concurrent ssh logins.
if [ "$n_ssh" = 0 ]; then
	:
elif start_sshd "MaxStartups 2000:30:2000
MaxSessions 10"; then
	out=$d/ssh-out
	mkdir "$out"
	t0=$(date +%s.%N)
	pids=()
	for i in $(seq "$n_ssh"); do
		timeout 300 "${SSH[@]}" 'echo "roots=$(grep -c ":/$" /proc/self/cgroup) others=$(grep -vc ":/$" /proc/self/cgroup)"; nohup sleep 1000 >/dev/null 2>&1 &' \
			>"$out/$i" 2>&1 & pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	t1=$(date +%s.%N)
	# Sandboxed: every cgroup line a namespace root, none other.
	unconfined=0
	for i in $(seq "$n_ssh"); do
		grep -qE '^roots=[1-9][0-9]* others=0$' "$out/$i" || unconfined=$((unconfined + 1))
	done
	l=$(left) c=$(until_clean $((2 * WAIT)))
	survived=$(grep -c "survived the kill" "$syslog" 2>/dev/null)
	printf 'concurrent ssh: %d logins in %s s, %d failed, %d not sandboxed, %d left at the end, clean after %s s (no login, no gc), %d closes timed out, %d processes left\n' \
		"$n_ssh" "$(elapsed "$t0" "$t1")" "$bad" "$unconfined" "$l" "$c" "${survived:-0}" "$(procs_of "$u")"
	result ssh-no-failure "$([ $bad = 0 ] && [ $unconfined = 0 ] && echo 1)" \
		"$bad failed, $unconfined not sandboxed: $(head -c 300 "$(ls "$out"/* | head -1)")"
	result ssh-clean "$([ "$(left)" = 0 ] && [ "$(procs_of "$u")" = 0 ] && echo 1)" \
		"$(left) sessions, $(procs_of "$u") processes"
else
	result sshd-started 0 "$(cat "$d/sshd.log")"
fi
echo "cgroups after: $(cgroup_counts)"
# Why what failed failed: the callers' and the module's error lines,
# counted, with numbers and ids blanked.
{
	cat "$d/failures" "$d"/ssh-out/* 2>/dev/null | grep -v -e '^roots=' -e 'Could not chdir to home directory'
	grep -E '^<(8[0-3]|3[0-3])>' "$syslog" 2>/dev/null | sed 's/^<[0-9]*>[A-Z][a-z]* [ 0-9:]* //'
} | sed -E 's/[0-9a-f]{8}|[0-9]+/N/g' | sort | uniq -c | sort -rn | head -15 | sed 's/^/errors: /'

