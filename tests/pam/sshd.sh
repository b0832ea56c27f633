#!/bin/bash
# A real sshd on 127.0.0.1, as root: its own config, host key and port;
# a link to /usr/sbin/sshd under another name, so OpenSSH uses a PAM
# service of ours; a test user logging in with a key.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: sshd (needs root)"; exit 77; }
[ -x /usr/sbin/sshd ] || { fail sshd/installed "openssh-server missing"; exit 1; }

session_fixture nscgt-h
write_policy "" "hostname = ssh-%u"
cat >/etc/pam.d/$svc <<EOC
auth     required pam_permit.so
account  required pam_permit.so
session  required pam_unix.so
session  required $BUILD/pam_nscg.so conf=$d/nscg.conf
EOC
start_sshd "" && pass sshd/started || { fail sshd/started "$(cat "$d/sshd.log")"; exit 1; }
out=$(timeout 30 "${SSH[@]}" 'cat /proc/self/cgroup; echo "host=$(hostname)"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls -l /proc/self/fd/; nohup sleep 1000 >/dev/null 2>&1 & echo "pid=$!"' 2>&1)
rc=$?
[ $rc = 0 ] && pass sshd/login || fail sshd/login "rc $rc: $out $(tail -5 "$d/sshd.log")"
cg=$(grep -E '^[0-9]+:' <<<"$out")
[ -n "$cg" ] && ! grep -qv ':/$' <<<"$cg" && pass sshd/cgroup-root || fail sshd/cgroup-root "$out"
grep -qx "host=ssh-$u" <<<"$out" && pass sshd/hostname || fail sshd/hostname "$out"
grep -qx 268435456 <<<"$out" && pass sshd/session-limit || fail sshd/session-limit "$out"
grep -E -- '-> (/sys/|/memfd:|.*/ns/)' <<<"$out" && fail sshd/no-module-fds "$out" || pass sshd/no-module-fds
pid=$(sed -n 's/^pid=//p' <<<"$out")
for _ in $(seq 50); do
	[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] && break
	sleep 0.1
done
[ -n "$pid" ] && ! { [ -e /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status; } &&
	pass sshd/nohup-killed-at-logout || fail sshd/nohup-killed-at-logout "pid $pid"
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass sshd/cgroups-removed || fail sshd/cgroups-removed
grep -q "uid $uid session-[0-9a-f]* closed: cpu" "$syslog" && pass sshd/accounting-logged ||
	fail sshd/accounting-logged "$(cat "$syslog")"
# The OOM notice on the terminal of an ssh -t session: sshd opens the
# PAM session before it makes the pty (PAM_TTY is "ssh" then), so the
# watcher finds the terminal of the session's processes.
out=$(timeout 60 "${SSH[@]}" -tt 'sleep 0.5; tail /dev/zero; sleep 2; echo END' 2>&1 | tr -d '\r')
grep -q '^nscg: the OOM killer ended a process of this session: session.memory.max (256M) was reached' <<<"$out" &&
	pass sshd/oom-notice-on-pty || fail sshd/oom-notice-on-pty "$(printf '%s' "$out" | tail -c 300)"
