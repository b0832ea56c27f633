#!/bin/bash
# A real sshd on 127.0.0.1, as root: its own config, host key and port;
# a link to /usr/sbin/sshd under another name, so OpenSSH uses a PAM
# service of ours; a test user logging in with a key.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: sshd (needs root)"; exit 77; }
[ -x /usr/sbin/sshd ] || { skip sshd "openssh-server is not installed"; exit 77; }

session_fixture nscgt-h
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.
# Logged out: the user's cgroups are gone, and so are their processes
# (sshd's of the session too), zombies aside.
logged_out() {
	[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
		[ "$(ps -u "$u" -o stat= | grep -vc '^Z')" = 0 ]
}
write_policy "" "hostname = ssh-%u"
cat >/etc/pam.d/$svc <<EOC
auth     required pam_permit.so
account  required pam_permit.so
session  required pam_unix.so
session  required $BUILD/pam_nscg.so conf=$d/nscg.conf
EOC
start_sshd "" && pass sshd/started || { fail sshd/started "$(cat "$d/sshd.log")"; exit 1; }
out=$(timeout "$WAIT" "${SSH[@]}" 'cat /proc/self/cgroup; echo "host=$(hostname)"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls -l /proc/self/fd/; nohup sleep 1000 >/dev/null 2>&1 & echo "pid=$!"' 2>&1)
rc=$?
[ $rc = 0 ] && pass sshd/login || fail sshd/login "rc $rc: $out $(tail -5 "$d/sshd.log")"
cg=$(grep -E '^[0-9]+:' <<<"$out")
[ -n "$cg" ] && ! grep -qv ':/$' <<<"$cg" && pass sshd/cgroup-root || fail sshd/cgroup-root "$out"
grep -qx "host=ssh-$u" <<<"$out" && pass sshd/hostname || fail sshd/hostname "$out"
grep -qx 268435456 <<<"$out" && pass sshd/session-limit || fail sshd/session-limit "$out"
grep -E -- '-> (/sys/|/memfd:|.*/ns/)' <<<"$out" && fail sshd/no-module-fds "$out" || pass sshd/no-module-fds
pid=$(sed -n 's/^pid=//p' <<<"$out")
# sshd closes the session after the client has gone.
wait_for logged_out
[ -n "$pid" ] && ! running "$pid" &&
	pass sshd/nohup-killed-at-logout || fail sshd/nohup-killed-at-logout "pid $pid"
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sshd/cgroups-removed || fail sshd/cgroups-removed
logged "uid $uid session-[0-9a-f]* closed: cpu" && pass sshd/accounting-logged ||
	fail sshd/accounting-logged "$(cat "$syslog")"
# The OOM notice on the terminal of an ssh -t session: sshd opens the
# PAM session before it makes the pty (PAM_TTY is "ssh" then), so the
# watcher finds the terminal of the session's processes. The session
# stays open until the test has seen the line come, or waited its
# deadline for it.
notice='^nscg: the OOM killer ended a process of this session: session.memory.max (256M) was reached'
rm -f "$d/release"
"${SSH[@]}" -tt "tail /dev/zero; until [ -e $d/release ]; do sleep 0.1; done; echo END" >"$d/oom.out" 2>&1 &
client=$!
on_exit "kill $client 2>/dev/null"
told() { tr -d '\r' <"$d/oom.out" | grep -q "$notice"; }
wait_for told
touch "$d/release"
wait "$client"
out=$(tr -d '\r' <"$d/oom.out")
grep -q "$notice" <<<"$out" && grep -qx END <<<"$out" &&
	pass sshd/oom-notice-on-pty || fail sshd/oom-notice-on-pty "$(printf '%s' "$out" | tail -c 300)"
wait_for logged_out
