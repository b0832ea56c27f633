#!/bin/bash
# systemd mode on this host, which has no systemd: a private system bus
# (dbus-daemon) with tests/fakes/fake-systemd in systemd's and logind's
# place, and the login put by the test where pam_systemd would put it, in
# a user-UID.slice/session-ID.scope of the unified hierarchy. Checked:
# what pam_nscg asks systemd and logind for, that it makes no cgroup of
# its own, that the namespaces' root is the scope, and the error, timeout
# and no-bus paths. The real systemd and logind: the VM tier's guest
# "systemd" (tests/vm/run.sh).
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: systemd-mode (needs root)"; exit 77; }
if [ ! -x "$BUILD/fake-systemd" ]; then
	fail systemd-mode/built "no $BUILD/fake-systemd: built without libsystemd (SYSTEMD=0)"
	exit 1
fi
command -v dbus-daemon >/dev/null || { skip systemd-mode "dbus-daemon is not installed"; exit 77; }
# The stand-in's scopes are made in the unified hierarchy of a hybrid
# host (the VM tier runs systemd mode on pure v2, hybrid and pure v1 guests).
if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ]; then
	skip systemd-mode "no unified hierarchy at /sys/fs/cgroup/unified (not a hybrid host)"
	exit 77
fi
RUN=$BUILD/session-runner
PAM_SESSION_ERR=14 PAM_PERM_DENIED=6

session_fixture nscgt-sd
cat >/etc/pam.d/$svc <<EOC
session  required $BUILD/pam_nscg.so conf=$d/nscg.conf
session  required pam_permit.so
EOC
sd_policy() { # extra [global] lines, extra [default] lines
	write_policy "$1" "user.memory.max = 1G
session.cpu.max = 150%
session.cpuset.cpus = 0-1
session.io.weight = 50
hostname = sd-%s
$2"
}

# A private system bus, and the fake on it.
bus=$d/bus
mkdir "$bus"
cat >"$bus/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$bus/socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOC
dbus-daemon --config-file="$bus/bus.conf" --nofork --nopidfile --nosyslog 2>"$bus/daemon.log" &
on_exit "kill $!"
wait_for test -S "$bus/socket"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$bus/socket
fakepid=
fake() { # MODE: (re)start the fake with an empty call log
	[ -n "$fakepid" ] && { kill "$fakepid"; wait "$fakepid" 2>/dev/null; }
	: >"$bus/calls"
	: >"$bus/out"
	"$BUILD/fake-systemd" "$bus/calls" "$1" "$lroot" >"$bus/out" &
	fakepid=$!
	wait_for grep -q ready "$bus/out" && return 0
	fail "systemd-mode/fake-$1" "the fake did not start"
}
on_exit '[ -n "$fakepid" ] && kill "$fakepid"'

# The session the test plays logind for: its scope, under a slice of
# the test's own (sd_pid_get_session wants slices above user-UID.slice),
# and logind's record of it in /run/systemd/sessions, which sd-login
# reads for its uid and leader.
lroot=/sys/fs/cgroup/unified/$parent.slice
scope=$lroot/user.slice/user-$uid.slice/session-77.scope
mkdir -p "$scope" "$lroot/user.slice/user-0.slice/session-5.scope"
on_exit "find '$lroot' -depth -type d -exec rmdir {} + 2>/dev/null"
made_run_systemd=
[ -d /run/systemd ] || made_run_systemd=1
mkdir -p /run/systemd/sessions /run/systemd/users
on_exit "rm -f /run/systemd/sessions/77 /run/systemd/sessions/5 /run/systemd/users/$uid; [ -z '$made_run_systemd' ] || rm -rf /run/systemd"
# in_scope SCOPE-DIR CMD...: run CMD in the scope, as its session's leader
# (so not under timeout(1), a parent): killed after 60 s, never a hang.
in_scope() {
	local dir=$1 id u p w rc
	shift
	id=${dir##*/session-} u=${dir%/*}
	id=${id%.scope} u=${u##*/user-}
	u=${u%.slice}
	sh -c 'echo $$ >"$0/cgroup.procs" &&
		printf "UID=%s\nLEADER=%s\n" "$1" "${LEADER:-$$}" >"/run/systemd/sessions/$2" &&
		shift 2 && exec "$@"' "$dir" "$u" "$id" "$@" &
	p=$!
	{ timeout 60 tail --pid="$p" -f /dev/null || kill -9 "$p"; } >/dev/null 2>&1 &
	w=$!
	wait "$p"
	rc=$?
	wait "$w"
	return $rc
}
ours_left() { ls -d /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent" 2>/dev/null | wc -l; }
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.
log_has() { wait_for grep -q -- "$2" "$syslog" && pass "$1" || fail "$1" "no '$2' in the log"; }
# Killed at close: gone once the kernel has let it exit.
INF=18446744073709551615

sd_policy "" ""
fake answer
# What other tests (and their other uids) left in /run/nscg is theirs.
# Records (sessions/) are kept in systemd mode too; locks are not.
locks_before=$(ls /run/nscg 2>/dev/null | grep -vx sessions)
expect systemd-mode/sandboxed 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	'test "$(grep "^0::" /proc/self/cgroup)" = "0::/" && test "$(hostname)" = sd-77'
calls=$(cat "$bus/calls")
# The slice first, reset where the policy sets nothing; the scope; then
# the ping that shows systemd has applied them.
want="SetUnitProperties user-$uid.slice runtime=1 MemoryMax=1073741824 MemoryHigh=$INF MemorySwapMax=$INF CPUWeight=$INF IOWeight=$INF CPUQuotaPerSecUSec=$INF AllowedCPUs=
SetUnitProperties session-77.scope runtime=1 MemoryMax=268435456 TasksMax=64 IOWeight=50 CPUQuotaPerSecUSec=1500000 AllowedCPUs=03
SetUnitProperties user@$uid.service runtime=1 MemoryMax=268435456 MemoryHigh=$INF MemorySwapMax=$INF CPUWeight=$INF TasksMax=64 IOWeight=50 CPUQuotaPerSecUSec=1500000 AllowedCPUs=03
Ping
TerminateSession 77"
[ "$calls" = "$want" ] && pass systemd-mode/calls-in-order ||
	fail systemd-mode/calls-in-order "got: $calls"
[ "$(ours_left)" = 0 ] && pass systemd-mode/no-own-cgroups || fail systemd-mode/no-own-cgroups
[ "$(ls /run/nscg 2>/dev/null | grep -vx sessions)" = "$locks_before" ] &&
	pass systemd-mode/no-lock-files || fail systemd-mode/no-lock-files "$(ls /run/nscg 2>/dev/null)"
[ -z "$(ls /run/nscg/sessions 2>/dev/null | grep "^uid-$uid\\.")" ] &&
	pass systemd-mode/record-removed || fail systemd-mode/record-removed "$(ls /run/nscg/sessions)"
log_has systemd-mode/logged-open "sandboxed in user-$uid.slice/session-77.scope (systemd)"
log_has systemd-mode/logged-usage "uid $uid session-77.scope closed: cpu"

# Inside the session, nothing of pam_nscg's own was made.
expect systemd-mode/none-made-during 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	"! ls -d /sys/fs/cgroup/*/$parent /run/nscg/uid-$uid.lock 2>/dev/null | grep -q ."

sd_policy "" "kill_on_close = no"
fake answer
expect systemd-mode/no-kill-sandboxed 0 in_scope "$scope" "$RUN" "$svc" "$u" true
lacks systemd-mode/no-terminate-without-kill_on_close "$(cat "$bus/calls")" TerminateSession

# What ignores SIGTERM is gone at close all the same: killed by the
# module (the fake's TerminateSession kills nothing), not after systemd's
# stop timeout.
sdprobe=$(mktemp -d /var/tmp/nscg-sd-XXXXXX)
chmod 0777 "$sdprobe"
on_exit "rm -rf '$sdprobe'"
sd_policy "" ""
fake answer
expect systemd-mode/term-ignoring-leftover 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	'(trap "" TERM; exec sleep 1000) </dev/null >/dev/null 2>&1 & echo $! >'"$sdprobe/left"
left=$(cat "$sdprobe/left" 2>/dev/null)
[ -n "$left" ] && wait_for stopped "$left" &&
	pass systemd-mode/term-ignoring-leftover-killed || fail systemd-mode/term-ignoring-leftover-killed "pid ${left:-none}"
# limit_user_manager = no: the user manager's limits are reset, not set.
sd_policy "" "limit_user_manager = no"
fake answer
expect systemd-mode/user-manager-unlimited 0 in_scope "$scope" "$RUN" "$svc" "$u" true
contains systemd-mode/user-manager-reset "$(cat "$bus/calls")" \
	"SetUnitProperties user@$uid.service runtime=1 MemoryMax=$INF MemoryHigh=$INF MemorySwapMax=$INF CPUWeight=$INF IOWeight=$INF CPUQuotaPerSecUSec=$INF AllowedCPUs=
"

# "max" is systemd's infinity; a policy without user.* limits still
# resets the slice.
printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\nsession.memory.max = max\nsession.pids.max = 64\n' \
	"$parent" "$d" >"$d/nscg.conf"
fake answer
expect systemd-mode/unlimited 0 in_scope "$scope" "$RUN" "$svc" "$u" true
contains systemd-mode/max-is-infinity "$(cat "$bus/calls")" \
	"SetUnitProperties session-77.scope runtime=1 MemoryMax=$INF TasksMax=64
"
contains systemd-mode/slice-reset "$(cat "$bus/calls")" \
	"SetUnitProperties user-$uid.slice runtime=1 MemoryMax=$INF MemoryHigh=$INF MemorySwapMax=$INF CPUWeight=$INF IOWeight=$INF CPUQuotaPerSecUSec=$INF AllowedCPUs=
"

# systemd refuses: on_error decides.
sd_policy "" ""
fake fail
expect systemd-mode/refused-denies $((200 + PAM_SESSION_ERR)) in_scope "$scope" "$RUN" "$svc" "$u" true
log_has systemd-mode/refusal-logged \
	"setting the limits of user-$uid.slice failed: org.freedesktop.systemd1.NoSuchUnit: Unit user-$uid.slice not loaded."
fake fail-scope
expect systemd-mode/scope-refused-denies $((200 + PAM_SESSION_ERR)) in_scope "$scope" "$RUN" "$svc" "$u" true
log_has systemd-mode/scope-refusal-logged "setting the limits of session-77.scope failed: org.freedesktop.systemd1.NoSuchUnit"

# systemd never answers: the login waits 5 s at most, then on_error.
sd_policy "on_error = allow" ""
fake hang
expect systemd-mode/timeout-allows 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	'test "$(grep "^0::" /proc/self/cgroup)" != "0::/"'
log_has systemd-mode/timeout-logged "no answer within 5000 ms to setting the limits of user-$uid.slice"

# The helper is checked before systemd is asked anything.
sd_policy "" ""
sed -i "s|^helper = .*|helper = $d/missing-helper|" "$d/nscg.conf"
fake answer
expect systemd-mode/missing-helper-denies $((200 + PAM_SESSION_ERR)) in_scope "$scope" "$RUN" "$svc" "$u" true
[ -s "$bus/calls" ] && fail systemd-mode/missing-helper-no-calls "$(cat "$bus/calls")" ||
	pass systemd-mode/missing-helper-no-calls

# No system bus at all.
sd_policy "" ""
expect systemd-mode/no-bus-denies $((200 + PAM_SESSION_ERR)) in_scope "$scope" env \
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$bus/none "$RUN" "$svc" "$u" true
log_has systemd-mode/no-bus-logged "cannot connect to the system bus"

# max_sessions counts the user's logind sessions (sd-login reads them
# from /run/systemd/users/UID): this one and two more make three.
sd_policy "" "max_sessions = 2"
fake answer
printf 'NAME=%s\nSESSIONS=77 78 79\n' "$u" >"/run/systemd/users/$uid"
expect systemd-mode/max-sessions-refused $((200 + PAM_PERM_DENIED)) in_scope "$scope" "$RUN" "$svc" "$u" true
printf 'NAME=%s\nSESSIONS=77 78\n' "$u" >"/run/systemd/users/$uid"
expect systemd-mode/max-sessions-room 0 in_scope "$scope" "$RUN" "$svc" "$u" true
rm -f "/run/systemd/users/$uid"

# su or runuser from inside another user's logind session: that
# session's limits hold; not sandboxed again, and nothing is asked.
fake answer
expect systemd-mode/other-users-session-skipped 0 \
	in_scope "$lroot/user.slice/user-0.slice/session-5.scope" "$RUN" "$svc" "$u" sh -c \
	'test "$(grep "^0::" /proc/self/cgroup)" != "0::/"'
log_has systemd-mode/other-users-session-logged "login from inside logind session 5 of uid 0; not sandboxed again"
[ -s "$bus/calls" ] && fail systemd-mode/other-users-session-no-calls "$(cat "$bus/calls")" ||
	pass systemd-mode/other-users-session-no-calls
# The same user's own session, but the caller is not its leader (su to
# oneself): the session is not this login's, nothing asked, nothing ended.
LEADER=1 expect systemd-mode/not-leader-skipped 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	'test "$(grep "^0::" /proc/self/cgroup)" != "0::/"'
log_has systemd-mode/not-leader-logged "login from inside logind session 77 of uid $uid; not sandboxed again"
[ -s "$bus/calls" ] && fail systemd-mode/not-leader-no-calls "$(cat "$bus/calls")" ||
	pass systemd-mode/not-leader-no-calls

# mode = standalone in a logind session: our own cgroups, no bus.
sd_policy "mode = standalone" ""
fake answer
expect systemd-mode/standalone-forced 0 in_scope "$scope" "$RUN" "$svc" "$u" sh -c \
	'grep -q "^[0-9]*:memory:/$" /proc/self/cgroup'
[ -s "$bus/calls" ] && fail systemd-mode/standalone-no-calls || pass systemd-mode/standalone-no-calls
log_has systemd-mode/standalone-own-cgroup "sandboxed in $parent/user-$uid/session-"

# mode = systemd outside a logind session.
sd_policy "mode = systemd" ""
expect systemd-mode/systemd-without-logind $((200 + PAM_SESSION_ERR)) "$RUN" "$svc" "$u" true
log_has systemd-mode/systemd-without-logind-logged "pam_systemd must come before pam_nscg"

# A login that is no logind session (an at or cron job) on a machine
# systemd runs: a transient scope of its own in user-UID.slice, started
# through systemd with the session's limits, the user's on the slice; at
# close the caller goes back to its unit and the scope is stopped, so
# what the job left dies, and the caller does not.
made_booted=
[ -d /run/systemd/system ] || { mkdir -p /run/systemd/system; made_booted=1; }
mkdir -p "$lroot/system.slice/atd.service"
jobdir=$(mktemp -d /var/tmp/nscg-job-XXXXXX)
chmod 0777 "$jobdir"
on_exit "rm -rf '$jobdir'"
in_unit() { # UNIT-DIR CMD...
	local dir=$1
	shift
	timeout 60 sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}
sd_policy "" ""
fake answer
expect systemd-mode/job-sandboxed 0 in_unit "$lroot/system.slice/atd.service" "$RUN" "$svc" "$u" sh -c \
	'test "$(grep "^0::" /proc/self/cgroup)" = "0::/" || exit 1; sleep 1000 </dev/null >/dev/null 2>&1 & echo $! >'"$jobdir/left"
calls=$(cat "$bus/calls")
# The caller alone: the helper stays in the caller's own cgroups.
grep -qE "^StartTransientUnit nscg-$uid-[0-9a-f]{8}\.scope Slice=user-$uid\.slice PIDs=1 MemoryMax=268435456 TasksMax=64 IOWeight=50 CPUQuotaPerSecUSec=1500000$" <<<"$calls" &&
	pass systemd-mode/job-scope-started || fail systemd-mode/job-scope-started "$calls $(tail -12 "$syslog" | cut -c 60-300)"
grep -q "^SetUnitProperties user-$uid.slice runtime=1 MemoryMax=1073741824 " <<<"$calls" &&
	pass systemd-mode/job-slice-limits || fail systemd-mode/job-slice-limits "$calls"
[ "$(tail -2 <<<"$calls" | cut -d' ' -f1 | tr '\n' ' ')" = "AttachProcessesToUnit StopUnit " ] &&
	grep -q "^AttachProcessesToUnit atd.service$" <<<"$calls" &&
	pass systemd-mode/job-ended-caller-first || fail systemd-mode/job-ended-caller-first "$calls"
# (The parent itself is left from the standalone tests above.)
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-* 2>/dev/null)" ] && pass systemd-mode/job-no-own-cgroups ||
	fail systemd-mode/job-no-own-cgroups "$(ls -d /sys/fs/cgroup/*/"$parent"/user-*)"
log_has systemd-mode/job-logged "sandboxed in user-$uid.slice/nscg-$uid-"
left=$(cat "$jobdir/left" 2>/dev/null)
[ -n "$left" ] && wait_for stopped "$left" &&
	pass systemd-mode/job-leftover-killed || fail systemd-mode/job-leftover-killed "pid ${left:-none}"
find "$lroot/user.slice/user-$uid.slice" -depth -name 'nscg-*.scope' -type d -exec rmdir {} + 2>/dev/null
[ -z "$made_booted" ] || rmdir /run/systemd/system

# Built without libsystemd: a logind session is an error, standalone works.
nosd=build/nosd
if make -s -C "$TOP" B=$nosd SYSTEMD=0 "$nosd/pam_nscg.so" >/dev/null 2>&1; then
	pass systemd-mode/builds-without-libsystemd
	on_exit "rm -rf '$TOP/$nosd'"
	readelf -dW "$TOP/$nosd/pam_nscg.so" | grep -q libsystemd &&
		fail systemd-mode/no-libsystemd-linked || pass systemd-mode/no-libsystemd-linked
	sed -i "s|$BUILD/pam_nscg.so|$TOP/$nosd/pam_nscg.so|" /etc/pam.d/$svc
	sd_policy "" ""
	expect systemd-mode/nosd-logind-denied $((200 + PAM_SESSION_ERR)) in_scope "$scope" "$RUN" "$svc" "$u" true
	log_has systemd-mode/nosd-logged "built without systemd support; set mode = standalone"
	expect systemd-mode/nosd-standalone-works 0 "$RUN" "$svc" "$u" sh -c \
		'! grep -qv ":/$" /proc/self/cgroup'
else
	fail systemd-mode/builds-without-libsystemd
fi

