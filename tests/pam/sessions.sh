#!/bin/bash
# Sessions as login opens them (tests/pam/session-runner.c: open, fork,
# drop to the user, exec, wait, close), as root: what the user sees and
# cannot do inside, limits that bite, faults, and many sessions at once.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: sessions (needs root)"; exit 77; }
RUN=$BUILD/session-runner

session_fixture nscgt-s
plain_service
policy() { # extra [default] lines
	printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\nsession.memory.max = 64M\nsession.memory.swap.max = 0\nsession.pids.max = 32\n%s\n' \
		"$parent" "$d" "$1" >"$d/nscg.conf"
	chmod 0644 "$d/nscg.conf"
}
# The user's processes that still run (zombies wait to be reaped).
running_sleeps() { ps -u "$u" -o stat=,comm= | grep -v '^Z' | grep -c sleep; }
# A session that stays open until the test releases it: its sleep is
# killed (release), and its shell then ends with status 0.
HOLD=(sh -c 'sleep 1000; exit 0')
release() { pkill -x -u "$uid" sleep; }
sleeps_are() { [ "$(running_sleeps)" = "$1" ]; }

policy ""
# What the user can and cannot do inside.
expect sessions/limit-readonly-for-user 0 "$RUN" "$svc" "$u" sh -c \
	'! echo 1G 2>/dev/null >/sys/fs/cgroup/memory/memory.limit_in_bytes'
expect sessions/limit-visible 0 "$RUN" "$svc" "$u" sh -c \
	'test "$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" = 67108864'
expect sessions/cannot-move-to-ns-root 0 "$RUN" "$svc" "$u" sh -c \
	'! echo $$ 2>/dev/null >/sys/fs/cgroup/unified/cgroup.procs && ! echo $$ 2>/dev/null >/sys/fs/cgroup/memory/cgroup.procs'
expect sessions/cannot-unmount 0 "$RUN" "$svc" "$u" sh -c \
	'! umount /sys/fs/cgroup 2>/dev/null && ! mount -o remount,rw /sys/fs/cgroup 2>/dev/null'
expect sessions/cgroup-is-root 0 "$RUN" "$svc" "$u" sh -c \
	'! grep -qv ":/$" /proc/self/cgroup'
expect sessions/no-module-fds 0 "$RUN" "$svc" "$u" sh -c \
	'! ls -l /proc/self/fd/ | grep -E -- "-> (/sys/|socket:|/memfd:|.*/ns/)"'
# pids.max stops a fork loop; what was started dies at logout.
# (32 tasks: the caller, perl and at most 30 children.)
expect sessions/pids-max-stops-fork-loop 0 "$RUN" "$svc" "$u" perl -e \
	'my $n = 0; for (1..60) { my $p = fork(); last unless defined $p; if (!$p) { sleep 30; exit 0 } $n++ } exit($n >= 10 && $n <= 31 ? 0 : 1)'
[ "$(running_sleeps)" = 0 ] && pass sessions/fork-loop-killed-at-logout ||
	fail sessions/fork-loop-killed-at-logout "$(running_sleeps) left"
# The memory limit kills a hog inside the session only.
expect sessions/memory-hog-killed 0 "$RUN" "$svc" "$u" sh -c \
	'tail /dev/zero; test $? -eq 137'
logged "uid $uid session-[0-9a-f]* closed: .*oom kills [1-9]" &&
	pass sessions/oom-kill-in-accounting || fail sessions/oom-kill-in-accounting
expect sessions/nohup-killed 0 "$RUN" "$svc" "$u" sh -c 'nohup sleep 1000 >/dev/null 2>&1 & exit 0'
[ "$(running_sleeps)" = 0 ] && pass sessions/nohup-gone || fail sessions/nohup-gone
# As su is, the caller runs with the user's real uid and root's
# effective one: the kill at close must not ask the real uid.
expect sessions/su-like-caller 0 perl -e '$< = shift; exec @ARGV or die' "$uid" \
	"$RUN" "$svc" "$u" sh -c 'nohup sleep 1000 >/dev/null 2>&1 & exit 0'
[ "$(running_sleeps)" = 0 ] && pass sessions/su-like-caller-killed ||
	fail sessions/su-like-caller-killed "$(running_sleeps) left"
[ "$(sessions_left)" = 0 ] && pass sessions/nothing-left || fail sessions/nothing-left

# A session CPU quota above the user's is the user's (cgroup v1 refuses
# a child's quota above its parent's: the login must not fail).
policy "user.cpu.max = 200%
session.cpu.max = 400%"
if [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
	expect sessions/cpu-quota-above-user 0 "$RUN" "$svc" "$u" sh -c \
		'test "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" = 200000'
else
	skip sessions/cpu-quota-above-user "this host has no v1 cpu hierarchy with cpu.cfs_quota_us"
fi
policy ""

# Two names of one uid share its user cgroup: its limits are those of the
# uid's first passwd name, whichever name logs in.
alias=nscgt-a$$
useradd -o -u "$uid" -M -N -s /bin/sh "$alias"
on_exit "userdel '$alias' 2>/dev/null"
policy "[user:$u]
user.memory.max = 512M
[user:$alias]
user.memory.max = 1G"
"$RUN" "$svc" "$alias" "${HOLD[@]}" &
a=$!
lim=/sys/fs/cgroup/memory/$parent/user-$uid/memory.limit_in_bytes
wait_for sleeps_are 1
[ "$(cat "$lim" 2>/dev/null)" = $((512 << 20)) ] && pass sessions/alias-user-limit ||
	fail sessions/alias-user-limit "$(cat "$lim" 2>&1)"
release
wait $a && pass sessions/alias-login || fail sessions/alias-login
logged "$alias shares uid $uid with $u: the user-level limits and max_sessions are $u's" &&
	pass sessions/alias-logged || fail sessions/alias-logged
userdel "$alias"
policy ""

# A login inside a session (su, sudo) is not sandboxed again.
expect sessions/nested-login-skipped 0 "$RUN" --keep-root "$svc" "$u" \
	"$RUN" "$svc" "$u" sh -c 'grep -q ":/$" /proc/self/cgroup'
logged "nested login inside a sandboxed session" &&
	pass sessions/nested-logged || fail sessions/nested-logged
# An exempt login (root, as su - would open it) from inside the session
# leaves it for the host's cgroups and namespaces, those of PID 1.
policy "[user:root]
enabled = no"
# (PID 1's namespaces may be closed to root here; this shell shares them.)
host_ns="$(readlink /proc/$$/ns/cgroup) $(readlink /proc/$$/ns/mnt) $(readlink /proc/$$/ns/uts)"
expect sessions/nested-root 0 "$RUN" --keep-root "$svc" "$u" "$RUN" "$svc" root sh -c \
	'echo "$(readlink /proc/self/ns/cgroup) $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts)"; cat /proc/self/cgroup'
[ "$(head -1 <<<"$OUT")" = "$host_ns" ] && pass sessions/nested-root-host-namespaces ||
	fail sessions/nested-root-host-namespaces "$(head -1 <<<"$OUT") vs $host_ns"
[ "$(tail -n +2 <<<"$OUT" | grep -v '^[0-9]*:name=')" = "$(grep -v '^[0-9]*:name=' /proc/1/cgroup)" ] &&
	pass sessions/nested-root-host-cgroups || fail sessions/nested-root-host-cgroups "$OUT"
logged "root: login from inside the sandbox of uid $uid; moved to the host's cgroups and namespaces" &&
	pass sessions/nested-root-logged || fail sessions/nested-root-logged
# Another user's login from inside the session gets a sandbox of its own.
u4=nscgt-n$$
useradd -M -N -s /bin/sh "$u4"
uid4=$(id -u "$u4")
on_exit "userdel '$u4' 2>/dev/null; rm -f /run/nscg/uid-$uid4.lock; true"
expect sessions/nested-other-user 0 "$RUN" --keep-root "$svc" "$u" "$RUN" "$svc" "$u4" sh -c \
	'! grep -qv ":/$" /proc/self/cgroup && readlink /proc/self/ns/cgroup'
logged "$u4 (uid $uid4) sandboxed in $parent/user-$uid4/session-" &&
	pass sessions/nested-other-user-own-sandbox || fail sessions/nested-other-user-own-sandbox
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid4" 2>/dev/null)" ] &&
	pass sessions/nested-other-user-closed || fail sessions/nested-other-user-closed
policy ""
# A multithreaded caller is refused (setns needs a single thread).
expect sessions/threaded-caller-refused 214 "$RUN" --thread "$svc" "$u" true
logged "threads; namespaces can only be joined by a single-threaded caller" &&
	pass sessions/threaded-logged || fail sessions/threaded-logged
# An unknown user.
expect sessions/unknown-user-refused 2 "$RUN" "$svc" "nscgt-none$$" true

# max_sessions: the third login is refused while two are open.
policy "max_sessions = 2"
"$RUN" "$svc" "$u" "${HOLD[@]}" & a=$!
"$RUN" "$svc" "$u" "${HOLD[@]}" & b=$!
wait_for sleeps_are 2
expect sessions/max-sessions-refused 206 "$RUN" "$svc" "$u" true
logged "refusing a login of $u: 2 sessions are open and max_sessions is 2" &&
	pass sessions/max-sessions-logged || fail sessions/max-sessions-logged
release
wait $a $b
[ "$(sessions_left)" = 0 ] && pass sessions/max-sessions-cleanup || fail sessions/max-sessions-cleanup

# An orphan (the login was SIGKILLed before close) is swept by the next
# open of that user. The opener dies first: were its child killed
# first, it would close the session itself.
policy ""
"$RUN" "$svc" "$u" sleep 1000 & r=$!
wait_for sleeps_are 1
kill -KILL $r; wait $r 2>/dev/null
pkill -KILL -x -u "$uid" sleep
wait_for sleeps_are 0
[ "$(sessions_left)" = 1 ] && pass sessions/orphan-present || fail sessions/orphan-present
expect sessions/open-after-orphan 0 "$RUN" "$svc" "$u" true
logged "removed session-[0-9a-f]* of uid $uid: its opener is gone" &&
	pass sessions/orphan-swept || fail sessions/orphan-swept
[ "$(sessions_left)" = 0 ] && pass sessions/orphan-gone || fail sessions/orphan-gone
[ -z "$(ls /run/nscg/sessions/uid-"$uid".* 2>/dev/null)" ] && pass sessions/orphan-record-gone ||
	fail sessions/orphan-record-gone "$(ls /run/nscg/sessions/)"

# The opener dies and the user's processes live on: the next login of
# the user kills them (kill_on_close) and removes the session.
"$RUN" "$svc" "$u" sh -c 'sleep 1000 & sleep 1000' & r=$!
wait_for sleeps_are 2
kill -KILL $r; wait $r 2>/dev/null
[ "$(running_sleeps)" = 2 ] && pass sessions/abandoned-still-running || fail sessions/abandoned-still-running
expect sessions/open-after-abandoned 0 "$RUN" "$svc" "$u" true
[ "$(running_sleeps)" = 0 ] && pass sessions/abandoned-killed || fail sessions/abandoned-killed "$(running_sleeps) left"
[ "$(sessions_left)" = 0 ] && pass sessions/abandoned-gone || fail sessions/abandoned-gone

# A session cgroup left in some hierarchies only (a close under load
# removed the others) is found wherever it is.
mkdir -p /sys/fs/cgroup/pids/"$parent"/user-"$uid"/session-0badc0de
expect sessions/open-after-partial 0 "$RUN" "$svc" "$u" true
[ ! -e /sys/fs/cgroup/pids/"$parent"/user-"$uid"/session-0badc0de ] &&
	pass sessions/partial-session-swept || fail sessions/partial-session-swept

# Another user's abandoned session is finished at anybody's login, at
# most once per sweep interval, without waiting for that user.
u3=nscgt-w$$
useradd -M -N -s /bin/sh "$u3"
uid3=$(id -u "$u3")
on_exit "pkill -KILL -u '$u3'; userdel '$u3' 2>/dev/null; rm -f /run/nscg/uid-$uid3.lock /run/nscg/sessions/uid-$uid3.*; true"
"$RUN" "$svc" "$u3" sh -c 'sleep 1000 & sleep 1000' & r=$!
wait_for eval '[ "$(ps -u "$u3" -o comm= | grep -c sleep)" = 2 ]'
kill -KILL $r; wait $r 2>/dev/null
rm -f /run/nscg/sweep.stamp
expect sessions/other-user-login 0 "$RUN" "$svc" "$u" true
[ "$(ps -u "$u3" -o stat=,comm= | grep -v '^Z' | grep -c sleep)" = 0 ] &&
	pass sessions/other-user-abandoned-killed || fail sessions/other-user-abandoned-killed
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid3" 2>/dev/null)" ] &&
	pass sessions/other-user-cgroups-removed || fail sessions/other-user-cgroups-removed
logged "removed session-[0-9a-f]* of uid $uid3: its opener is gone" &&
	pass sessions/other-user-logged || fail sessions/other-user-logged

# A close that could not finish (its record says so: here written as
# close writes it, naming this shell as the opener that gave up) is
# finished by the sweep though its opener still runs.
"$RUN" "$svc" "$u" sh -c 'sleep 1000 & sleep 1000' & r=$!
wait_for sleeps_are 2
kill -KILL $r; wait $r 2>/dev/null
rec=$(ls /run/nscg/sessions/uid-"$uid".* | head -1)
start=$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20)
sed -i "s/^leader=.*/leader=$$/; s/^leader_start=.*/leader_start=$start/; s/^closing=0$/closing=1/" "$rec"
expect sessions/open-after-closing 0 "$RUN" "$svc" "$u" true
logged "removed session-[0-9a-f]* of uid $uid: its close could not finish" &&
	pass sessions/closing-finished || fail sessions/closing-finished
[ "$(running_sleeps)" = 0 ] && pass sessions/closing-killed || fail sessions/closing-killed "$(running_sleeps) left"
[ "$(sessions_left)" = 0 ] && pass sessions/closing-gone || fail sessions/closing-gone

# nscgctl gc: lists (--dry-run) and finishes what no login came to sweep.
"$RUN" "$svc" "$u" sh -c 'sleep 1000 & sleep 1000' & r=$!
wait_for sleeps_are 2
kill -KILL $r; wait $r 2>/dev/null
expect sessions/gc-dry-run 0 "$BUILD/nscgctl" gc --dry-run --conf "$d/nscg.conf"
contains sessions/gc-dry-run-lists "$OUT" "would remove session-"
contains sessions/gc-dry-run-why "$OUT" "of uid $uid: its opener is gone"
[ "$(running_sleeps)" = 2 ] && [ "$(sessions_left)" = 1 ] && pass sessions/gc-dry-run-touches-nothing ||
	fail sessions/gc-dry-run-touches-nothing
expect sessions/gc 0 "$BUILD/nscgctl" gc --conf "$d/nscg.conf"
contains sessions/gc-says "$OUT" "removed session-"
[ "$(running_sleeps)" = 0 ] && pass sessions/gc-killed || fail sessions/gc-killed "$(running_sleeps) left"
[ "$(sessions_left)" = 0 ] && pass sessions/gc-removed || fail sessions/gc-removed
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sessions/gc-user-cgroup-removed || fail sessions/gc-user-cgroup-removed
expect sessions/gc-again 0 "$BUILD/nscgctl" gc --quiet --conf "$d/nscg.conf"
[ -z "$OUT" ] && pass sessions/gc-quiet-when-clean || fail sessions/gc-quiet-when-clean "$OUT"
expect sessions/gc-refused-inside-a-session 2 "$RUN" --keep-root "$svc" "$u" \
	"$BUILD/nscgctl" gc --conf "$d/nscg.conf"
contains sessions/gc-inside-says-why "$ERR" "runs in a cgroup namespace of its own"
expect sessions/gc-needs-root 2 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$BUILD/nscgctl" gc --conf "$d/nscg.conf"

# 50 sessions open at once, held open until all are counted, then all
# close cleanly.
pids=()
for i in $(seq 50); do "$RUN" "$svc" "$u" "${HOLD[@]}" & pids+=($!); done
wait_for sleeps_are 50
[ "$(sessions_left)" = 50 ] && pass sessions/fifty-open ||
	fail sessions/fifty-open "$(sessions_left) open, $(running_sleeps) running"
release
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
[ $bad = 0 ] && pass sessions/fifty-closed-ok || fail sessions/fifty-closed-ok "$bad failed"
[ "$(sessions_left)" = 0 ] && pass sessions/fifty-nothing-left || fail sessions/fifty-nothing-left
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sessions/user-cgroup-removed || fail sessions/user-cgroup-removed

# A read-only cgroupfs (here: an unwritable parent) fails cleanly.
policy ""
for h in /sys/fs/cgroup/memory; do mkdir -p "$h/$parent"; done
mount -o bind,ro /sys/fs/cgroup/memory/"$parent" /sys/fs/cgroup/memory/"$parent" 2>/dev/null &&
	{
		expect sessions/readonly-cgroupfs-denied 214 "$RUN" "$svc" "$u" true
		umount /sys/fs/cgroup/memory/"$parent"
		[ "$(sessions_left)" = 0 ] && pass sessions/readonly-nothing-left || fail sessions/readonly-nothing-left
	} || fail sessions/readonly-setup

# Few fds (EMFILE) and a helper that dies right after "ready": refused
# with a log line, nothing left behind.
policy ""
expect sessions/emfile-refused 214 "$RUN" --nofile=6 "$svc" "$u" true
[ "$(sessions_left)" = 0 ] && pass sessions/emfile-nothing-left || fail sessions/emfile-nothing-left
install -m 0755 "$BUILD/helper-dies-after-ready" "$d/nscg-helper"
expect sessions/helper-dies-refused 214 "$RUN" "$svc" "$u" true
logged "cannot join the session namespaces" &&
	pass sessions/helper-dies-logged || fail sessions/helper-dies-logged
[ "$(sessions_left)" = 0 ] && pass sessions/helper-dies-nothing-left || fail sessions/helper-dies-nothing-left
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sessions/helper-dies-user-cgroup-removed || fail sessions/helper-dies-user-cgroup-removed
install -m 0755 "$BUILD/nscg-helper" "$d/nscg-helper"
# skip_services: the service is left alone.
printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\nskip_services = %s\n' "$parent" "$d" "$svc" >"$d/nscg.conf"
host_ns=$(readlink /proc/self/ns/cgroup)
expect sessions/skip-service 0 "$RUN" "$svc" "$u" sh -c "test \"\$(readlink /proc/self/ns/cgroup)\" = '$host_ns'"
logged "is not sandboxed: the PAM service is listed in skip_services" &&
	pass sessions/skip-service-logged || fail sessions/skip-service-logged

# No cgroupfs at all (unmounted in a private mount namespace): refused
# with a clear line, no hang.
policy ""
expect sessions/no-cgroupfs-refused 214 unshare -m sh -c \
	"mount --make-rprivate / && umount -R /sys/fs/cgroup && exec '$RUN' '$svc' '$u' true"
logged "no cgroup filesystem is mounted under /sys/fs/cgroup" &&
	pass sessions/no-cgroupfs-logged || fail sessions/no-cgroupfs-logged

# Out of memory (address space capped just above the caller's size, at
# several margins): every login either succeeds or is refused with a log
# line; none crashes, none leaves anything behind.
policy ""
bad=""
# 214 is the module's refusal, 205 (PAM_BUF_ERR) libpam's own.
for kb in 0 32 64 96 128 160 192 224 256 512 1024 2048; do
	"$RUN" --as-extra=$kb "$svc" "$u" true 2>/dev/null
	rc=$?
	[ $rc = 0 ] || [ $rc = 214 ] || [ $rc = 205 ] || bad="$bad $kb:$rc"
done
[ -z "$bad" ] && pass sessions/enomem-no-crash || fail sessions/enomem-no-crash "$bad"
logged "Cannot allocate memory" && pass sessions/enomem-logged || fail sessions/enomem-logged
[ "$(sessions_left)" = 0 ] && pass sessions/enomem-nothing-left || fail sessions/enomem-nothing-left
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sessions/enomem-user-cgroup-removed || fail sessions/enomem-user-cgroup-removed

# Two users' first logins at once, on a fresh parent: neither may find a
# half-made parent (v1 cpuset starts empty). Ten rounds.
u2=nscgt-t$$
useradd -M -N -s /bin/sh "$u2"
uid2=$(id -u "$u2")
on_exit "userdel '$u2' 2>/dev/null; rm -f /run/nscg/uid-$uid2.lock; rmdir /run/nscg 2>/dev/null; true"
policy ""
bad=0
for round in $(seq 10); do
	remove_parent
	"$RUN" "$svc" "$u" true & a=$!
	"$RUN" "$svc" "$u2" true & b=$!
	wait $a || bad=$((bad + 1))
	wait $b || bad=$((bad + 1))
done
[ $bad = 0 ] && pass sessions/concurrent-first-logins || fail sessions/concurrent-first-logins "$bad of 20 failed"
