#!/bin/bash
# The hostile user: attempts, from inside a real session and as the user,
# to get a login out of the sandbox or to leave something behind. Each
# asserts that the sandbox held. Sessions are opened as login opens them
# (tests/pam/session-runner.c), as root, on this machine's cgroupfs.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { fail escape/root "needs root"; exit 1; }
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
# The user's processes that still run (zombies wait for init to reap).
user_procs() { ps -u "$u" -o stat= | grep -vc '^Z'; }
kill_user() {
	pkill -KILL -u "$u" 2>/dev/null
	for _ in $(seq 100); do [ "$(user_procs)" = 0 ] && break; sleep 0.1; done
}
on_exit kill_user
# Where a login landed: "sandboxed" if every line of /proc/self/cgroup is
# a namespace root, "unconfined" otherwise. Written by the command the
# login runs, as the user, to a file the user may write.
probe=$d/probe
install -d -m 0777 "$probe"
LANDED='if grep -qv ":/$" /proc/self/cgroup; then echo unconfined; else echo sandboxed; fi >'
landed() { cat "$probe/$1" 2>/dev/null || echo "no-login"; }

# --- Filling user.pids.max in one session, then logging in again ---
# The next login's helper would fork in a full pids cgroup (EAGAIN); with
# on_error = allow that used to let the login in unconfined. Now it is
# refused with a clear line, whatever on_error says.
for oe in allow deny; do
	policy "on_error = $oe" "user.pids.max = 24
session.pids.max = 64"
	"$RUN" "$svc" "$u" perl -e 'my $n = 0; while (defined(my $p = fork())) { if (!$p) { sleep 60; exit 0 } $n++ } sleep 60' &
	holder=$!
	for _ in $(seq 100); do [ "$(cat "$(ucg pids)/pids.current" 2>/dev/null)" = 24 ] && break; sleep 0.1; done
	[ "$(cat "$(ucg pids)/pids.current" 2>/dev/null)" = 24 ] && pass escape/fill-pids-$oe/filled ||
		fail escape/fill-pids-$oe/filled "pids.current $(cat "$(ucg pids)/pids.current" 2>/dev/null)"
	rm -f "$probe/pids-$oe"
	expect escape/fill-pids-$oe/login-refused 206 "$RUN" "$svc" "$u" sh -c "$LANDED $probe/pids-$oe"
	[ "$(landed pids-$oe)" = no-login ] && pass escape/fill-pids-$oe/not-unconfined ||
		fail escape/fill-pids-$oe/not-unconfined "$(landed pids-$oe)"
	grep -q "refusing a login of $u: the user's processes fill user.pids.max (24 of 24 tasks" "$syslog" &&
		pass escape/fill-pids-$oe/logged || fail escape/fill-pids-$oe/logged
	kill_user
	wait $holder 2>/dev/null
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
"$RUN" "$svc" "$u" perl -e 'my @a = map { "x" x (1 << 20) } 1 .. 72; sleep 60' &
holder=$!
for _ in $(seq 100); do
	[ "$(cat "$(ucg memory)/memory.usage_in_bytes" 2>/dev/null || echo 0)" -gt $((70 << 20)) ] && break
	sleep 0.1
done
[ "$(cat "$(ucg memory)/memory.usage_in_bytes" 2>/dev/null || echo 0)" -gt $((70 << 20)) ] &&
	pass escape/fill-memory/filled || fail escape/fill-memory/filled
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
for _ in $(seq 50); do [ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-* 2>/dev/null)" ] && break; sleep 0.1; done
left=$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-* 2>/dev/null)
[ -z "$left" ] && pass escape/nothing-left || fail escape/nothing-left "$left"
