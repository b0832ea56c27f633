#!/bin/bash
# Live sessions seen and steered with nscgctl, as root: status (table and
# JSON, parsed), metrics (checked by promtool), apply (read back from
# cgroupfs), terminate; with real sessions through libpam
# (tests/pam/session-runner.c).
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: live (needs root)"; exit 77; }
RUN=$BUILD/session-runner
CTL=$BUILD/nscgctl

session_fixture nscgt-l
plain_service
# What the test users run: a copy they can reach, as the checkout may be
# in a directory of root's alone (mktemp -d).
UCTL=$d/nscgctl
install -m 0755 "$CTL" "$UCTL"
write_policy "" "user.memory.max = 1G"
# socket_of PID UID: the status socket of the session PID (a login's
# opener) is in; watched PID UID: its watcher listens there, which it
# does once the login has joined the session (so the session is open in
# full).
socket_of() {
	local line
	while read -r line; do
		[[ $line =~ /(session-[0-9a-f]+) ]] && { echo "/run/nscg-status/$2.${BASH_REMATCH[1]}"; return; }
	done 2>/dev/null </proc/"$1"/cgroup
}
watched() { [ -S "$(socket_of "$1" "$2")" ]; }
# The user's processes that still run (zombies wait to be reaped).
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.
json() { # PYTHON-EXPRESSION over j, the status JSON on stdin
	python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# Two sessions: one from a tty and a remote host, one holding 80M (it
# says so once it does); both open until the test ends them, and looked
# at once their watchers listen.
"$RUN" --tty=/dev/pts/9 --rhost=10.1.2.3 "$svc" "$u" sleep 1000 & r1=$!
"$RUN" "$svc" "$u" perl -e '$x = "a" x (80 << 20); $| = 1; print "holding\n"; sleep 1000' >"$d/big.out" & r2=$!
on_exit "kill $r1 $r2 2>/dev/null"
wait_for watched "$r1" "$uid"
wait_for watched "$r2" "$uid"
wait_for grep -qx holding "$d/big.out"

expect live/status 0 "$CTL" status
contains live/status-user "$OUT" "$u"
contains live/status-from "$OUT" "pts/9 10.1.2.3"
contains live/status-limits "$OUT" "/64 "
contains live/status-user-total "$OUT" "$uid"
w=$(printf '%s\n' "$OUT" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
[ "$w" -le 100 ] && pass live/status-fits-100-columns || fail live/status-fits-100-columns "$w"

expect live/status-json 0 "$CTL" status "$u" --json
j=$OUT
[ "$(printf '%s' "$j" | json 'j["version"], len(j["sessions"]), len(j["users"])')" = "1 2 1" ] &&
	pass live/json-counts || fail live/json-counts "$j"
s1=$(printf '%s' "$j" | json '[s for s in j["sessions"] if s["tty"]][0]')
contains live/json-session-fields "$s1" "'uid': $uid, 'user': '$u', 'mode': 'standalone', 'service': '$svc', 'tty': '/dev/pts/9', 'rhost': '10.1.2.3'"
contains live/json-namespaces "$s1" "'namespaces': ['cgroup', 'mount', 'ipc', 'uts']"
contains live/json-limits "$s1" "'tasks_max': 64"
contains live/json-memory-max "$s1" "'memory_max': 268435456"
big=$(printf '%s' "$j" | json '[s["usage"]["memory_current"] for s in j["sessions"] if not s["tty"]][0]')
[ "$big" -ge $((80 << 20)) ] && pass live/json-memory-current || fail live/json-memory-current "$big"
ucg=$(printf '%s' "$j" | json 'j["users"][0]["cgroup"], j["users"][0]["sessions"], j["users"][0]["usage"]["memory_max"]')
[ "$ucg" = "$parent/user-$uid 2 1073741824" ] && pass live/json-user || fail live/json-user "$ucg"
id1=$(printf '%s' "$s1" | python3 -c 'import ast, sys; print(ast.literal_eval(sys.stdin.read())["id"])')
expect live/status-session 0 "$CTL" status --session "$id1" --json
[ "$(printf '%s' "$OUT" | json 'len(j["sessions"]), j["sessions"][0]["id"]')" = "1 $id1" ] &&
	pass live/status-session-one || fail live/status-session-one "$OUT"
expect live/status-no-such-session 3 "$CTL" status --session 0badc0de
expect live/status-other-user-empty 0 "$CTL" status root --json
[ "$(printf '%s' "$OUT" | json 'len(j["sessions"])')" = 0 ] && pass live/status-filtered ||
	fail live/status-filtered "$OUT"
# As the user, outside any session: their own, from their sessions' watchers.
expect live/status-as-user 0 setpriv --reuid="$uid" --regid=65534 --clear-groups "$UCTL" status
contains live/status-as-user-own "$OUT" "$u"

# Metrics: promtool's strict check, and the file written whole.
expect live/metrics 0 "$CTL" metrics
contains live/metrics-sessions "$OUT" "nscg_sessions{user=\"$u\",uid=\"$uid\"} 2"
contains live/metrics-memory-max "$OUT" "nscg_user_memory_max_bytes{user=\"$u\",uid=\"$uid\"} 1073741824"
contains live/metrics-session "$OUT" "nscg_session_tasks_max{user=\"$u\",uid=\"$uid\",session=\"$id1\",service=\"$svc\"} 64"
if command -v promtool >/dev/null; then
	printf '%s\n' "$OUT" | promtool check metrics >"$d/promtool.out" 2>&1 &&
		pass live/metrics-promtool || fail live/metrics-promtool "$(cat "$d/promtool.out")"
else
	skip live/metrics-promtool "promtool is not installed (tests/deps.sh installs prometheus)"
fi
expect live/metrics-output 0 "$CTL" metrics --output "$d/nscg.prom"
[ "$(stat -c %a "$d/nscg.prom")" = 644 ] && grep -q '^nscg_sessions{' "$d/nscg.prom" &&
	[ -z "$(ls "$d" | grep 'nscg.prom.')" ] && pass live/metrics-output-whole ||
	fail live/metrics-output-whole "$(ls -l "$d")"
expect live/metrics-output-bad-dir 2 "$CTL" metrics --output /nonexistent/dir/x.prom
contains live/metrics-output-bad-dir-msg "$ERR" "cannot write /nonexistent/dir/x.prom"

# apply: the policy raised and lowered; a memory limit below what the
# big session uses is held back, and applied with --force.
write_policy "" "user.memory.max = 2G
session.pids.max = 100
session.memory.max = 64M"
sed -i '/^session.pids.max = 64$/d' "$d/nscg.conf"
expect live/apply-dry-run 1 "$CTL" apply --conf "$d/nscg.conf" --dry-run
contains live/apply-dry-run-says "$OUT" "pids.max 64 -> 100 (dry run)"
pm=$(cat /sys/fs/cgroup/pids/"$parent"/user-"$uid"/session-*/pids.max | sort -u)
[ "$pm" = 64 ] && pass live/apply-dry-run-changes-nothing || fail live/apply-dry-run-changes-nothing "$pm"
expect live/apply 1 "$CTL" apply "$u" --conf "$d/nscg.conf"
contains live/apply-held-back "$OUT" "is below the"
contains live/apply-summary "$OUT" "changes made in 2 sessions of 1 user, 1 memory limit held back"
pm=$(cat /sys/fs/cgroup/pids/"$parent"/user-"$uid"/session-*/pids.max | sort -u)
[ "$pm" = 100 ] && pass live/apply-raised-pids || fail live/apply-raised-pids "$pm"
[ "$(cat /sys/fs/cgroup/memory/"$parent"/user-"$uid"/memory.limit_in_bytes)" = 2147483648 ] &&
	pass live/apply-raised-user-memory || fail live/apply-raised-user-memory
mm=$(cat /sys/fs/cgroup/memory/"$parent"/user-"$uid"/session-*/memory.limit_in_bytes | sort -n | tr '\n' ' ')
[ "$mm" = "67108864 268435456 " ] && pass live/apply-lowered-idle-only || fail live/apply-lowered-idle-only "$mm"
expect live/apply-again-nothing 1 "$CTL" apply "$u" --conf "$d/nscg.conf"
contains live/apply-again-nothing-says "$OUT" "0 changes made"
# --force: v2 sets it and the kernel OOM-kills; v1 (the memory
# controller of a hybrid host) refuses it when it cannot reclaim.
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	expect live/apply-force-v1-refused 1 "$CTL" apply "$u" --conf "$d/nscg.conf" --force
	contains live/apply-force-v1-says "$OUT" "cgroup v1 refuses it then: not applied"
else
	expect live/apply-force 0 "$CTL" apply "$u" --conf "$d/nscg.conf" --force
	contains live/apply-force-says "$OUT" "applied (--force)"
	wait "$r2"
	[ $? = 137 ] && pass live/apply-force-bites || fail live/apply-force-bites
fi
printf '[default]\nsession.memory.max = 1K\n' >"$d/broken.conf"
expect live/apply-policy-errors 1 "$CTL" apply --conf "$d/broken.conf"
contains live/apply-policy-errors-msg "$ERR" "nothing applied"

# terminate: the session's processes (its caller too) die, its cgroups
# and record go, and the log says who did it.
expect live/terminate 0 "$CTL" terminate "$id1"
wait "$r1"
[ $? = 137 ] && pass live/terminate-killed || fail live/terminate-killed
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-"$id1" 2>/dev/null)" ] &&
	[ "$(sessions_left)" = 1 ] && pass live/terminate-removed-that-one ||
	fail live/terminate-removed-that-one
[ ! -e /run/nscg/sessions/uid-"$uid".session-"$id1" ] && pass live/terminate-record-gone ||
	fail live/terminate-record-gone
logged "terminated session-$id1 of $u, as uid 0" && pass live/terminate-logged ||
	fail live/terminate-logged "$(tail -3 "$syslog")"
expect live/terminate-none 3 "$CTL" terminate "$id1"
"$CTL" terminate --user "$u" >/dev/null
wait "$r2" 2>/dev/null
"$RUN" "$svc" "$u" sleep 1000 & r3=$!
"$RUN" "$svc" "$u" sleep 1000 & r4=$!
on_exit "kill $r3 $r4 2>/dev/null"
wait_for watched "$r3" "$uid"
wait_for watched "$r4" "$uid"
expect live/terminate-user 0 "$CTL" terminate --user "$u"
wait "$r3"; a=$?
wait "$r4"; b=$?
[ "$a $b" = "137 137" ] && [ "$(sessions_left)" = 0 ] && pass live/terminate-user-all ||
	fail live/terminate-user-all "$a $b $(sessions_left)"
[ ! -d /sys/fs/cgroup/memory/"$parent"/user-"$uid" ] && pass live/terminate-user-cgroup-gone ||
	fail live/terminate-user-cgroup-gone
expect live/terminate-usage 2 "$CTL" terminate
expect live/terminate-needs-root 2 setpriv --reuid="$uid" --regid=65534 --clear-groups "$UCTL" terminate --user "$u"

# What a hostile remote host name carries (PAM_RHOST comes from DNS)
# never reaches a terminal or breaks the JSON.
"$RUN" --rhost=$'evil"\\\e[31m\x01' "$svc" "$u" sleep 1000 & r5=$!
on_exit "kill $r5 2>/dev/null"
wait_for watched "$r5" "$uid"
expect live/hostile-rhost-table 0 "$CTL" status "$u"
printf '%s' "$OUT" | grep -q $'\e' && fail live/hostile-rhost-no-escape || pass live/hostile-rhost-no-escape
expect live/hostile-rhost-json 0 "$CTL" status "$u" --json
[ "$(printf '%s' "$OUT" | json 'j["sessions"][0]["rhost"]')" = 'evil"\?[31m?' ] &&
	pass live/hostile-rhost-json-valid || fail live/hostile-rhost-json-valid "$OUT"
"$CTL" terminate --user "$u" >/dev/null
wait "$r5"

# A record whose opener is gone and whose cgroup never was is no session.
mkdir -p /run/nscg/sessions
printf 'uid=%s\nuser=%s\nsession=session-00000bad\nparent=%s\nleader=999999\nleader_start=1\nkill=1\nclosing=0\n' \
	"$uid" "$u" "$parent" >/run/nscg/sessions/uid-"$uid".session-00000bad
expect live/stale-record-hidden 0 "$CTL" status "$u" --json
[ "$(printf '%s' "$OUT" | json 'len(j["sessions"])')" = 0 ] && pass live/stale-record-not-listed ||
	fail live/stale-record-not-listed "$OUT"
rm -f /run/nscg/sessions/uid-"$uid".session-00000bad
# A systemd session's record whose opener is gone and whose scope is
# gone too (systemd ended it, its close never ran): gc removes it.
printf 'uid=%s\nuser=%s\nsession=session-999.scope\nparent=user.slice/user-%s.slice\nleader=999999\nleader_start=1\nkill=1\nclosing=0\nmode=systemd\n' \
	"$uid" "$u" "$uid" >/run/nscg/sessions/uid-"$uid".session-999.scope
expect live/gc-stale-unit-record 0 "$CTL" gc --conf "$d/nscg.conf"
contains live/gc-stale-unit-record-says "$OUT" "removed the record of session-999.scope of uid $uid: its unit is gone"
[ ! -e /run/nscg/sessions/uid-"$uid".session-999.scope ] && pass live/gc-stale-unit-record-gone ||
	fail live/gc-stale-unit-record-gone

# ---- the session's watcher: the user's own status, the OOM notice ----
u2=nscgt-l2$$
useradd -M -N -s /bin/sh "$u2" && on_exit "userdel '$u2' 2>/dev/null" || fail live/setup-u2
uid2=$(id -u "$u2")
on_exit "rm -f /run/nscg/uid-$uid2.lock /run/nscg/uid-$uid2.swept /run/nscg/sessions/uid-$uid2.*; find /sys/fs/cgroup/*/$parent/user-$uid2 -depth -type d -exec rmdir {} + 2>/dev/null"
"$RUN" "$svc" "$u2" sleep 1000 & r6=$!
"$RUN" "$svc" "$u" sleep 1000 & r7=$!
on_exit "kill $r6 $r7 2>/dev/null"
wait_for watched "$r6" "$uid2"
wait_for watched "$r7" "$uid"
# As the user, from inside a session of theirs: their sessions only.
expect live/user-status-inside 0 "$RUN" "$svc" "$u" "$UCTL" status --json
j=$OUT
[ "$(printf '%s' "$j" | json 'sorted(set(s["uid"] for s in j["sessions"])), len(j["sessions"]), len(j["users"])')" = "[$uid] 2 1" ] &&
	pass live/user-status-own-only || fail live/user-status-own-only "$j"
expect live/user-status-table 0 "$RUN" "$svc" "$u" "$UCTL" status
contains live/user-status-table-user "$OUT" "$u"
lacks live/user-status-table-no-other "$OUT" "$u2"
expect live/user-status-other-user 2 "$RUN" "$svc" "$u" "$UCTL" status "$u2"
expect live/user-status-no-such-session 3 "$RUN" "$svc" "$u" "$UCTL" status --session 0badc0de
# Another user's process gets nothing from the user's watcher, and a
# socket of the user's name bound by another user is not believed.
# The socket of the session r7 holds (those of the sessions just ended
# may still be there while their watchers leave).
sock=$(socket_of "$r7" "$uid")
[ -S "$sock" ] && [ "$(stat -c %U "$sock")" = root ] && pass live/watcher-socket ||
	fail live/watcher-socket "$(ls -l /run/nscg-status)"
got=$(setpriv --reuid="$uid2" --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(int(sys.argv[2]))
s.connect(sys.argv[1])
try:
    s.sendall(b"J\n")
    print(len(s.recv(100)))
except (BrokenPipeError, ConnectionResetError):
    print(0)' "$sock" "$WAIT" 2>&1)
[ "$got" = 0 ] && pass live/watcher-refuses-other-uid || fail live/watcher-refuses-other-uid "$got"
# Another user knocking a thousand times: the watcher stops listening
# for a moment, and still answers its user afterwards.
setpriv --reuid="$uid2" --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
for _ in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except OSError:
        pass
    s.close()' "$sock"
expect live/watcher-after-flood 0 "$RUN" "$svc" "$u" "$UCTL" status
contains live/watcher-after-flood-answers "$OUT" "$u"
# Nobody but root binds a socket where nscgctl looks for its watchers.
got=$(setpriv --reuid="$uid2" --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.bind("/run/nscg-status/%s.session-00000000" % sys.argv[1])
    print("bound")
except PermissionError:
    print("refused")' "$uid" 2>&1)
[ "$got" = refused ] && pass live/no-squatting || fail live/no-squatting "$got"
# Watchers (not zombies) whose fds lead into this test's cgroups, or into
# those below WHERE in its parent: one find for them all, no process per
# watcher.
watchers() { # [WHERE/]
	local p c st fds=()
	for p in /proc/[0-9]*; do
		read -r c 2>/dev/null <"$p/comm" && [ "$c" = nscg-watch ] || continue
		read -r st 2>/dev/null <"$p/stat" && st=${st##*) } && [ "${st:0:1}" != Z ] && fds+=("$p/fd")
	done
	[ ${#fds[@]} = 0 ] ||
		find "${fds[@]}" -mindepth 1 -maxdepth 1 -lname "*/$parent/${1:-}*" -printf '%h\n' 2>/dev/null |
		sort -u | sed 's|^/proc/||; s|/fd$||'
}
# The watcher of the user's session: root's, without capabilities,
# outside the user's cgroups.
wpid=$(watchers "user-$uid/" | head -1)
if [ -n "$wpid" ]; then
	ids=$(awk '/^Uid:/ { print $2 }' /proc/"$wpid"/status)
	caps=$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb)/ { print $2 }' /proc/"$wpid"/status | sort -u)
	[ "$ids" = 0 ] && [ "$caps" = 0000000000000000 ] && pass live/watcher-no-capabilities ||
		fail live/watcher-no-capabilities "$(grep -E '^(Uid|Cap)' /proc/"$wpid"/status)"
	mapfile -t cg 2>/dev/null <"/proc/$wpid/cgroup"
	[ ${#cg[@]} -gt 0 ] && [[ "${cg[*]}" != *"/user-$uid/"* ]] && pass live/watcher-outside-user-cgroups ||
		fail live/watcher-outside-user-cgroups "${cg[*]}"
else
	fail live/watcher-outside-user-cgroups "no watcher of $u's session: $(pgrep -a nscg-watch)"
fi
kill "$r6" "$r7" 2>/dev/null
"$CTL" terminate --user "$u" >/dev/null 2>&1
"$CTL" terminate --user "$u2" >/dev/null 2>&1
wait "$r6" "$r7" 2>/dev/null
no_watchers() { [ -z "$(watchers)" ]; }
wait_for no_watchers
left=$(watchers)
[ -z "$left" ] && pass live/watchers-gone-at-logout || fail live/watchers-gone-at-logout "$left"
[ -z "$(ls /run/nscg-status 2>/dev/null | grep -E "^($uid|$uid2)\.")" ] && pass live/watcher-sockets-gone ||
	fail live/watcher-sockets-gone "$(ls /run/nscg-status)"

# The OOM notice, on a real terminal (script(1)): one line saying which
# limit, and the log's line. oom_notice = no keeps the terminal quiet,
# not the log. The session's shell says END once the watcher has logged
# the kill and then answered the user's nscgctl: it writes the terminal
# its line between the two, so a line that is coming is there by then.
# ($1: the watcher's OOM lines in the log before; each wait has a
# deadline.)
oom_line="uid $uid $u session-[0-9a-f]*: the OOM killer ended"
cat >"$d/oom.sh" <<OOM
tail /dev/zero
n=0
until [ "\$(grep -c "$oom_line" "$syslog" 2>/dev/null)" -gt "\$1" ] || [ \$n -ge $((WAIT * 10)) ]; do
	sleep 0.1; n=\$((n + 1))
done
until "$UCTL" status >/dev/null 2>&1 || [ \$n -ge $((WAIT * 20)) ]; do
	sleep 0.1; n=\$((n + 1))
done
echo END
OOM
chmod 0644 "$d/oom.sh"
chmod 0644 "$syslog" 2>/dev/null
# oom_run TYPESCRIPT [SETUP]: the terminal is the user's, as login and
# sshd make it, unless SETUP says otherwise.
oom_run() {
	local before
	before=$(grep -c "$oom_line" "$syslog" 2>/dev/null)
	script -qec "${2-chown $u \$(tty);} $RUN --tty=\$(tty) $svc $u sh $d/oom.sh ${before:-0}" \
		"$1" >/dev/null </dev/null
	tr -d '\r' <"$1" >"$1.txt"
}
write_policy "" "user.memory.max = 1G"
oom_run "$d/ts1"
grep -q "^nscg: the OOM killer ended a process of this session: session.memory.max (256M) was reached. \`nscgctl status\` shows what is in use.$" "$d/ts1.txt" &&
	pass live/oom-notice-on-tty || fail live/oom-notice-on-tty "$(cat -v "$d/ts1")"
# While the session is open: before its END.
sed -n '/OOM killer/,$p' "$d/ts1.txt" | grep -q END && pass live/oom-notice-while-open ||
	fail live/oom-notice-while-open "$(cat -v "$d/ts1")"
[ "$(grep -c "OOM killer" "$d/ts1.txt")" = 1 ] && pass live/oom-notice-once || fail live/oom-notice-once
if [ -e "$syslog" ]; then
	grep -q "nscg-watch\[[0-9]*\]: uid $uid $u session-[0-9a-f]*: the OOM killer ended a process: session.memory.max (256M) reached" "$syslog" &&
		pass live/oom-logged || fail live/oom-logged "$(tail -3 "$syslog")"
fi
write_policy "" "user.memory.max = 1G
oom_notice = no"
oom_run "$d/ts2"
grep -q "OOM killer" "$d/ts2" && fail live/oom-notice-off || pass live/oom-notice-off
grep -q "^END" "$d/ts2.txt" && pass live/oom-notice-off-session-goes-on ||
	fail live/oom-notice-off-session-goes-on "$(cat -v "$d/ts2")"
# A terminal that is not the user's gets no line (a console handed on).
write_policy "" "user.memory.max = 1G"
oom_run "$d/ts3" ""
grep -q "OOM killer" "$d/ts3" && fail live/oom-notice-only-users-terminal "$(cat -v "$d/ts3")" ||
	pass live/oom-notice-only-users-terminal
# With kill_on_close = no the leftovers run on, without a watcher: it
# ends with the login's caller. The login stays open until the test has
# seen its watcher and its leftover.
write_policy "" "kill_on_close = no"
rm -f "$d/release"
"$RUN" "$svc" "$u" sh -c "nohup sleep 1000 >/dev/null 2>&1 & until [ -e $d/release ]; do sleep 0.1; done" &
r8=$!
on_exit "kill $r8 2>/dev/null; pkill -KILL -u '$u' sleep 2>/dev/null"
leftover_runs() { pgrep -u "$u" -fx 'sleep 1000' >/dev/null; }
have_watcher() { mine=$(watchers "user-$uid/"); [ -n "$mine" ]; }
# Ended: none of them is still a watcher of the user's sessions (by its
# name and its fds, not its pid alone: under load the pid can be reused
# within the wait).
watchers_ended() {
	local p now
	now=$(watchers "user-$uid/")
	for p in $mine; do grep -qx "$p" <<<"$now" && return 1; done
	return 0
}
mine=""
wait_for leftover_runs
wait_for have_watcher
touch "$d/release"
wait "$r8"
wait_for watchers_ended
[ -n "$mine" ] && watchers_ended && leftover_runs && pass live/watcher-ends-with-caller ||
	fail live/watcher-ends-with-caller "watchers '$mine', the user's: $(pgrep -a -u "$u")"
pkill -KILL -u "$u" sleep
wait_for no_procs_of "$u"
