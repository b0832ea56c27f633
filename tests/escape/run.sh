#!/bin/bash
# The hostile user: attempts, from inside a real session and as the user,
# to get a login out of the sandbox or to leave something behind. Each
# asserts that the sandbox held. Sessions are opened as login opens them
# (tests/pam/session-runner.c), as root, on this machine's cgroupfs.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: escape (needs root)"; exit 77; }
RUN=$BUILD/session-runner

session_fixture nscgt-x
plain_service
# policy EXTRA-GLOBAL EXTRA-DEFAULT
policy() {
	printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n%s\n[default]\nsession.memory.max = 64M\nsession.memory.swap.max = 0\n%s\n' \
		"$parent" "$d" "$1" "$2" >"$d/nscg.conf"
	chmod 0644 "$d/nscg.conf"
}
ucg() { echo "/sys/fs/cgroup/$1/$parent/user-$uid"; }
# The user's processes that still run (zombies wait to be reaped).
kill_user() {
	pkill -KILL -u "$u" 2>/dev/null
	wait_for no_procs_of "$u"
}
on_exit kill_user
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.
# The pids in FILE that still run, counted without a process each.
alive_in() {
	local p st n=0
	while read -r p; do
		read -r st 2>/dev/null <"/proc/$p/stat" && st=${st##*) } && [ "${st:0:1}" != Z ] && n=$((n + 1))
	done <"$1"
	echo $n
}
# Where a login landed: "sandboxed" if every line of /proc/self/cgroup is
# a namespace root, "unconfined" otherwise. Written by the command the
# login runs, as the user, to a file the user may write.
# (Not under /tmp, which sessions may have a private one of.)
probe=$(mktemp -d /var/tmp/nscg-probe-XXXXXX)
chmod 0777 "$probe"
on_exit "rm -rf '$probe'"
LANDED='if grep -qv ":/$" /proc/self/cgroup; then echo unconfined; else echo sandboxed; fi >'
landed() { cat "$probe/$1" 2>/dev/null || echo "no-login"; }

# --- The classic ways out, tried from inside a session as the user ---
# (tests/escape/attempts.sh prints a line for each), then every way of
# outliving the login, all of which must be gone after logout.
policy "" "session.pids.max = 64"
install -m 0755 "$TOP/tests/escape/attempts.sh" "$probe/attempts.sh"
: >"$probe/left"
chmod 0666 "$probe/left"
out=$("$RUN" "$svc" "$u" bash "$probe/attempts.sh" "$probe/left" 2>&1)
grep -E '^(PASS|FAIL):' <<<"$out"
[ "$(grep -c '^PASS:' <<<"$out")" -ge 20 ] && pass escape/inside/twenty-attempts ||
	fail escape/inside/twenty-attempts "$out"
# Killed at logout: gone once the kernel has let them exit.
all_gone() { [ "$(alive_in "$probe/left")" = 0 ] && no_procs_of "$u"; }
wait_for all_gone
[ -s "$probe/left" ] && all_gone && pass escape/inside/nothing-outlives-logout ||
	fail escape/inside/nothing-outlives-logout "$(alive_in "$probe/left") of $(wc -l <"$probe/left") left, $(procs_of "$u") processes of the user"
kill_user

# --- A login opened from a cgroup the user controls (sudo or su from the
# user's delegated subtree): its helper lives there until it is done, so
# the user can starve, freeze or kill it. Whatever stops the helper there
# is refused, whatever on_error says; never an unconfined login. ---
deleg=/sys/fs/cgroup/pids/$parent-deleg
mkdir "$deleg"
chown "$u" "$deleg" "$deleg/cgroup.procs" "$deleg/tasks"
on_exit "rmdir '$deleg' 2>/dev/null"
in_deleg() { timeout 60 sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$deleg" "$@"; }
policy "on_error = allow" ""
expect escape/delegated/login-sandboxed 0 in_deleg "$RUN" "$svc" "$u" sh -c "$LANDED $probe/deleg"
[ "$(landed deleg)" = sandboxed ] && pass escape/delegated/sandboxed || fail escape/delegated/sandboxed "$(landed deleg)"
# The user fills their cgroup: the helper's fork fails there.
echo 1 >"$deleg/pids.max"
rm -f "$probe/deleg"
expect escape/delegated/helper-starved-refused 206 in_deleg "$RUN" "$svc" "$u" sh -c "$LANDED $probe/deleg"
[ "$(landed deleg)" = no-login ] && pass escape/delegated/not-unconfined || fail escape/delegated/not-unconfined "$(landed deleg)"
logged "refusing a login of $u: it is opened from a cgroup a user controls" &&
	pass escape/delegated/logged || fail escape/delegated/logged
echo max >"$deleg/pids.max"
kill_user

# --- Filling user.pids.max in one session, then logging in again ---
# The next login's helper would fork in a full pids cgroup (EAGAIN); with
# on_error = allow that used to let the login in unconfined. Now it is
# refused with a clear line, whatever on_error says.
pids_now() { cat "$(ucg pids)/pids.current" 2>/dev/null; }
pids_are() { [ "$(pids_now)" = "$1" ]; }
# The user's tasks are gone: the user cgroup with them, or its count 0.
no_user_tasks() { local n; n=$(pids_now); [ "${n:-0}" = 0 ]; }
for oe in allow deny; do
	policy "on_error = $oe" "user.pids.max = 24
session.pids.max = 64"
	"$RUN" "$svc" "$u" perl -e 'my $n = 0; while (defined(my $p = fork())) { if (!$p) { sleep 1000; exit 0 } $n++ } sleep 1000' &
	holder=$!
	wait_for pids_are 24
	pids_are 24 && pass escape/fill-pids-$oe/filled ||
		fail escape/fill-pids-$oe/filled "pids.current $(pids_now)"
	rm -f "$probe/pids-$oe"
	expect escape/fill-pids-$oe/login-refused 206 "$RUN" "$svc" "$u" sh -c "$LANDED $probe/pids-$oe"
	[ "$(landed pids-$oe)" = no-login ] && pass escape/fill-pids-$oe/not-unconfined ||
		fail escape/fill-pids-$oe/not-unconfined "$(landed pids-$oe)"
	logged "refusing a login of $u: the user's processes fill user.pids.max (24 of 24 tasks" &&
		pass escape/fill-pids-$oe/logged || fail escape/fill-pids-$oe/logged
	kill_user
	wait $holder 2>/dev/null
	# Their tasks leave the kernel's count once reaped.
	wait_for no_user_tasks
	# Once the user's processes are gone, the user gets in again.
	expect escape/fill-pids-$oe/login-after-cleanup 0 "$RUN" "$svc" "$u" sh -c "$LANDED $probe/pids-$oe"
	[ "$(landed pids-$oe)" = sandboxed ] && pass escape/fill-pids-$oe/after-cleanup-sandboxed ||
		fail escape/fill-pids-$oe/after-cleanup-sandboxed "$(landed pids-$oe)"
done

# --- Filling user.memory.max, then logging in ---
# The helper's fork and its mount namespace are charged outside the
# user's cgroups; what is charged inside makes the kernel reclaim or kill
# the user's own hog. The login is sandboxed or refused, never unconfined.
policy "on_error = allow" "user.memory.max = 96M
session.memory.max = 96M"
"$RUN" "$svc" "$u" perl -e 'my @a = map { "x" x (1 << 20) } 1 .. 72; sleep 1000' &
holder=$!
mem_now() { cat "$(ucg memory)/memory.usage_in_bytes" 2>/dev/null || echo 0; }
mem_above() { [ "$(mem_now)" -gt "$1" ]; }
wait_for mem_above $((70 << 20))
mem_above $((70 << 20)) && pass escape/fill-memory/filled || fail escape/fill-memory/filled "$(mem_now) bytes"
rm -f "$probe/mem"
"$RUN" "$svc" "$u" sh -c "$LANDED $probe/mem"
rc=$?
case "$rc:$(landed mem)" in
0:sandboxed | 206:no-login) pass escape/fill-memory/login-sandboxed-or-refused ;;
*) fail escape/fill-memory/login-sandboxed-or-refused "rc $rc, $(landed mem)" ;;
esac
kill_user
wait $holder 2>/dev/null

# --- A passwd entry larger than any fixed buffer (ERANGE) ---
policy "on_error = allow" ""
usermod -c "$(head -c 20000 /dev/zero | tr '\0' g)" "$u"
rm -f "$probe/big"
expect escape/huge-passwd-entry/login 0 "$RUN" "$svc" "$u" sh -c "$LANDED $probe/big"
[ "$(landed big)" = sandboxed ] && pass escape/huge-passwd-entry/sandboxed ||
	fail escape/huge-passwd-entry/sandboxed "$(landed big)"
usermod -c "" "$u"

# Nothing of the user's is left in any hierarchy.
kill_user
no_sessions() { [ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-* 2>/dev/null)" ]; }
wait_for no_sessions
left=$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-* 2>/dev/null)
[ -z "$left" ] && pass escape/nothing-left || fail escape/nothing-left "$left"

# --- Pinning tmpfs memory across logouts ---
# Pages written to a tmpfs outlive the writer and its cgroup. Each
# session's /dev/shm is its own tmpfs, capped, and gone at logout, so
# three logins that fill it leave nothing charged to the user.
policy "" "user.memory.max = 300M
session.memory.max = 256M"
"$RUN" "$svc" "$u" sleep 1000 &
keeper=$!
# Measured from when the keeper's session runs its command.
wait_for pgrep -x -u "$uid" sleep
before=$(mem_now)
for i in 1 2 3; do
	"$RUN" "$svc" "$u" sh -c "dd if=/dev/zero of=/dev/shm/pin$i bs=1M count=200 2>$probe/dd$i; ls /dev/shm >$probe/ls$i"
done
# What a logout frees, the kernel uncharges as the session's mounts go.
unpinned() { [ $(($(mem_now) - before)) -lt $((32 << 20)) ]; }
wait_for unpinned
unpinned && pass escape/pin-shm/nothing-pinned ||
	fail escape/pin-shm/nothing-pinned "$((($(mem_now) - before) >> 20))M more charged to the user after three logouts"
grep -q "No space left on device" "$probe/dd1" && pass escape/pin-shm/capped ||
	fail escape/pin-shm/capped "$(cat "$probe/dd1")"
# The default cap: a quarter of session.memory.max (64M of 256M).
[ "$(grep -o '^[0-9]* bytes' "$probe/dd1" | cut -d' ' -f1)" -le $((64 << 20)) ] 2>/dev/null &&
	pass escape/pin-shm/quarter-of-session || fail escape/pin-shm/quarter-of-session "$(cat "$probe/dd1")"
[ ! -e /dev/shm/pin1 ] && pass escape/pin-shm/not-on-host || fail escape/pin-shm/not-on-host
[ "$(cat "$probe/ls2")" = pin2 ] && pass escape/pin-shm/private-per-session ||
	fail escape/pin-shm/private-per-session "$(cat "$probe/ls2")"
kill_user
wait $keeper 2>/dev/null

# The same through /tmp, private per session.
policy "" "user.memory.max = 300M
session.memory.max = 256M
private_tmp = session
tmp_size = 100M"
rm -f /tmp/nscg-pin-$$
"$RUN" "$svc" "$u" sh -c "dd if=/dev/zero of=/tmp/nscg-pin-$$ bs=1M count=200 2>$probe/tdd"
grep -q "No space left on device" "$probe/tdd" && pass escape/pin-tmp/capped ||
	fail escape/pin-tmp/capped "$(cat "$probe/tdd")"
[ ! -e /tmp/nscg-pin-$$ ] && pass escape/pin-tmp/not-on-host || fail escape/pin-tmp/not-on-host

# private_tmp = user: the user's sessions share one /tmp, which goes
# with the last of them. The first session has written its file, and
# stays open until the test releases it.
policy "" "private_tmp = user"
rm -f "$probe/wrote" "$probe/release"
"$RUN" "$svc" "$u" sh -c "echo hello >/tmp/shared && touch $probe/wrote; until [ -e $probe/release ]; do sleep 0.1; done" &
a=$!
wait_for test -e "$probe/wrote"
expect escape/user-tmp/shared 0 "$RUN" "$svc" "$u" sh -c 'test "$(cat /tmp/shared)" = hello'
[ ! -e /tmp/shared ] && pass escape/user-tmp/not-on-host || fail escape/user-tmp/not-on-host
touch "$probe/release"
wait $a
mountpoint -q /run/nscg/tmp/uid-"$uid" && fail escape/user-tmp/gone-at-last-logout ||
	pass escape/user-tmp/gone-at-last-logout
expect escape/user-tmp/fresh-next-time 0 "$RUN" "$svc" "$u" sh -c 'test ! -e /tmp/shared'

# --- Under su, the invoker cannot reach the helper or the watcher ---
# util-linux su opens the session before it takes the target's real uid:
# the helper, and the watcher it forks, start with root's real uid and
# PID 1's limits whatever the invoker had, so the invoker can neither
# stop them (a helper that never answers fails the login) nor starve
# them. su's stack, for this test only: this one invoker may become the
# test user without a password, and the session is sandboxed.
if ! command -v su >/dev/null; then
	skip escape/su "no su here"
else
	# The user's sessions' watchers: nscg-watch, forked by the helper
	# with the user's name on its command line.
	watcher_of() { pgrep -x nscg-watch -a | awk -v u="$u" '{ for (i = 3; i < NF; i++) if ($i == "--user" && $(i + 1) == u) print $1 }'; }
	has_watcher() { [ -n "$(watcher_of)" ]; }
	no_watcher() { [ -z "$(watcher_of)" ]; }
	inv=nscgt-y$$
	useradd -M -N -s /bin/sh "$inv" || fail escape/su/setup "useradd $inv"
	on_exit "pkill -KILL -u '$inv' 2>/dev/null; userdel '$inv' 2>/dev/null"
	cp -a /etc/pam.d/su "$d/su.orig"
	on_exit "cp -a '$d/su.orig' /etc/pam.d/su"
	{
		printf 'auth sufficient pam_succeed_if.so quiet user = %s ruser = %s\n' "$u" "$inv"
		grep -v '^@include common-session' "$d/su.orig"
		printf 'session required %s/pam_nscg.so conf=%s/nscg.conf\n' "$BUILD" "$d"
	} >/etc/pam.d/su
	policy "" ""
	rm -f "$probe/su-in"
	# The watchers of the sessions before have ended (each with its
	# caller, a moment after it): the one found next is su's.
	wait_for no_watcher || fail escape/su/earlier-watchers-gone "$(watcher_of)"
	# A smaller stack limit (the soft one: raising a hard one back takes
	# CAP_SYS_RESOURCE, which some hosts keep from root) and umask 0777,
	# the invoker's choice.
	setpriv --reuid="$inv" --regid=nogroup --clear-groups sh -c \
		"ulimit -S -s 4096; umask 0777; exec su -s /bin/sh -c 'touch $probe/su-in; exec sleep 1000' $u" \
		</dev/null >"$probe/su-out" 2>&1 &
	su_pid=$!
	if wait_for test -e "$probe/su-in" && wait_for has_watcher; then
		w=$(watcher_of)
		[ "$(ps -o ruid= -p "$w" | tr -d ' ')" = 0 ] && pass escape/su/watcher-real-uid-root ||
			fail escape/su/watcher-real-uid-root "$(ps -o ruid=,euid=,args= -p "$w"; grep -a 'nscg-watch\|pam_nscg(su' "$syslog" | tail -4)"
		! setpriv --reuid="$inv" --regid=nogroup --clear-groups kill -STOP "$w" 2>/dev/null &&
			pass escape/su/invoker-cannot-stop-watcher || fail escape/su/invoker-cannot-stop-watcher
		kill -CONT "$w" 2>/dev/null
		[ "$(grep '^Max stack size' "/proc/$w/limits" | awk '{ print $4 }')" = "$(grep '^Max stack size' /proc/1/limits | awk '{ print $4 }')" ] &&
			pass escape/su/watcher-host-limits ||
			fail escape/su/watcher-host-limits "watcher $w: $(grep '^Max stack size' "/proc/$w/limits" 2>&1)"
	else
		fail escape/su/login "$(cat "$probe/su-out"; tail -3 "$syslog")"
	fi
	pkill -KILL -u "$u" -x sleep 2>/dev/null
	wait "$su_pid"
	kill_user
fi
