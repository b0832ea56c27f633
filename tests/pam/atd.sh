#!/bin/bash
# Work started outside a login: a real at job, run by a real atd through
# its PAM stack (service atd, its session part non-interactive), with
# pam_nscg in it. The job gets a sandbox of its own, with the user's
# limits, and what it leaves behind dies with it. As root, on this host.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: atd (needs root)"; exit 77; }
command -v atd >/dev/null && command -v at >/dev/null || { skip atd "at is not installed"; exit 77; }

session_fixture nscgt-at
probe=$(mktemp -d /var/tmp/nscg-at-XXXXXX)
chmod 0777 "$probe"
on_exit "rm -rf '$probe'"
# atd's own stack, with pam_nscg after its session lines; put back after.
cp -a /etc/pam.d/atd "$d/atd.pam.orig"
on_exit "cp -a '$d/atd.pam.orig' /etc/pam.d/atd"
printf '%s\nsession required %s/pam_nscg.so conf=%s/nscg.conf\n' \
	"$(cat "$d/atd.pam.orig")" "$BUILD" "$d" >/etc/pam.d/atd
# No atd may be running already: ours processes the queue once (-s).
pgrep -x atd >/dev/null && { fail atd/idle "an atd is running"; exit 1; }
# Jobs of the test user's that did not run are removed.
on_exit "atrm \$(atq | awk -v u='$u' '\$NF == u { print \$1 }') 2>/dev/null; true"
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.

# job NAME COMMAND: queue COMMAND as the test user for now, run the queue
# once, and wait for NAME to appear in the probe directory and for the
# job to be done.
job() {
	rm -f "$probe/$1"
	# at runs a job in the directory it was queued from: one the user
	# may enter, whatever the checkout's.
	(cd / && echo "$2" | runuser -u "$u" -- at now 2>/dev/null)
	atd -s
	wait_for test -s "$probe/$1"
	wait_for at_done "$u"
}
write_policy "" "user.memory.max = 512M"
job sandboxed "cat /proc/self/cgroup >$probe/cg; nohup sleep 1000 >/dev/null 2>&1 & echo \$! >$probe/left; echo done >$probe/sandboxed"
[ -s "$probe/sandboxed" ] && pass atd/job-ran || fail atd/job-ran "$(atq)"
[ -s "$probe/cg" ] && ! grep -qv ':/$' "$probe/cg" && pass atd/job-sandboxed ||
	fail atd/job-sandboxed "$(cat "$probe/cg" 2>&1)"
logged "$u (uid $uid) sandboxed in $parent/user-$uid/session-" &&
	pass atd/job-logged || fail atd/job-logged "$(cat "$syslog")"
logged "uid $uid session-[0-9a-f]* closed" && pass atd/job-closed || fail atd/job-closed
# Killed at the job's end: gone once the kernel has let it exit.
left=$(cat "$probe/left" 2>/dev/null)
[ -n "$left" ] && wait_for stopped "$left" &&
	pass atd/leftover-killed || fail atd/leftover-killed "pid ${left:-none}"
[ -z "$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" 2>/dev/null)" ] &&
	pass atd/cgroups-removed || fail atd/cgroups-removed

# skip_services still exempts what the admin lists.
write_policy "skip_services = atd" ""
job skipped "cat /proc/self/cgroup >$probe/cg2; echo done >$probe/skipped"
[ -s "$probe/skipped" ] && grep -qv ':/$' "$probe/cg2" && pass atd/skip-services ||
	fail atd/skip-services "$(cat "$probe/cg2" 2>&1)"
