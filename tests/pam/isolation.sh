#!/bin/bash
# More isolation where the policy asks for it, as root on this host, with
# real sessions through libpam (tests/pam/session-runner.c):
# hide_processes (a /proc of the session's own with hidepid=invisible),
# tried from inside as the user, which a kernel before 5.8 refuses, and
# delegate, which a host with cgroup v1 hierarchies refuses (the VM
# tier's pure-v2 guests run it).
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: isolation (needs root)"; exit 77; }
RUN=$BUILD/session-runner

session_fixture nscgt-i
plain_service
# A second user, whose process the first must not see.
u2=nscgt-j$$
useradd -M -N -s /bin/sh "$u2" || { fail isolation/setup "useradd $u2"; exit 1; }
# The user's processes that still run (zombies wait to be reaped); a
# user is deleted once none do.
kill_user() { # [USER]
	pkill -KILL -u "${1:-$u}" 2>/dev/null
	wait_for no_procs_of "${1:-$u}"
}
on_exit "kill_user '$u2'; userdel '$u2' 2>/dev/null"
probe=$(mktemp -d /var/tmp/nscg-probe-XXXXXX)
chmod 0777 "$probe"
on_exit "rm -rf '$probe'"
on_exit kill_user
# The log's lines come through syslog-capture.py, a moment after they
# are sent: a line is waited for.
# kernel_at_least MAJOR MINOR
kernel_at_least() {
	local ma mi
	IFS=. read -r ma mi _ <<<"$(uname -r)"
	[ "$ma" -gt "$1" ] || { [ "$ma" = "$1" ] && [ "${mi%%[!0-9]*}" -ge "$2" ]; }
}

# What a process of the user sees in /proc: one line per visible process,
# "UID PID", written by the command a login runs (one stat for them all).
SEE='stat -c "%u %n" /proc/[0-9]* 2>/dev/null | sed "s|/proc/||" >'

setpriv --reuid="$u2" --regid=nogroup --clear-groups sleep 1000 &
other=$!
disown
setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups sleep 1000 &
mine_outside=$!
disown
on_exit "kill $other $mine_outside 2>/dev/null"
# Each is the sleep, as its user, once setpriv has run it.
is_sleep() { local c; read -r c 2>/dev/null <"/proc/$1/comm" && [ "$c" = sleep ]; }
wait_for is_sleep "$other"
wait_for is_sleep "$mine_outside"

# Last: nothing of the user's runs, and no session cgroup is left.
finish() {
	local n
	kill_user
	n=$(ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-* 2>/dev/null | wc -l)
	[ "$n" = 0 ] && pass isolation/nothing-left || fail isolation/nothing-left "$n session cgroups"
}

# --- delegate: a host with cgroup v1 hierarchies (v1, hybrid) refuses it ---
layout=v1
[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && layout=hybrid
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	skip isolation/delegate "a pure cgroup v2 host, where delegate is not refused; the VM tier's pure-v2 guests try it"
else
	write_policy "on_error = deny" "delegate = yes"
	rm -f "$probe/in"
	expect isolation/delegate/$layout-denied 214 "$RUN" "$svc" "$u" touch "$probe/in"
	[ ! -e "$probe/in" ] && pass isolation/delegate/$layout-no-login || fail isolation/delegate/$layout-no-login
	logged "delegate = yes needs a pure cgroup v2 host; this one is $layout, where delegating is unsafe" &&
		pass isolation/delegate/$layout-logged || fail isolation/delegate/$layout-logged "$(tail -3 "$syslog")"
	# on_error = allow lets the login in, unconfined, as for any error.
	write_policy "on_error = allow" "delegate = yes"
	expect isolation/delegate/$layout-allowed 0 "$RUN" "$svc" "$u" touch "$probe/in"
fi

# --- hide_processes: refused before Linux 5.8 (procfs options were the
# host's then) ---
if ! kernel_at_least 5 8; then
	write_policy "" "hide_processes = yes"
	rm -f "$probe/in"
	expect isolation/hide/old-kernel-denied 214 "$RUN" "$svc" "$u" touch "$probe/in"
	[ ! -e "$probe/in" ] && pass isolation/hide/old-kernel-no-login || fail isolation/hide/old-kernel-no-login
	logged "hide_processes needs Linux 5.8 or later" &&
		pass isolation/hide/old-kernel-logged || fail isolation/hide/old-kernel-logged "$(tail -3 "$syslog")"
	skip isolation/hide "Linux $(uname -r) is older than 5.8, where hide_processes is refused (asserted)"
	finish
	exit
fi

# --- hide_processes = yes ---
write_policy "" "hide_processes = yes"
expect isolation/hide/login 0 "$RUN" "$svc" "$u" sh -c "sleep 1000 & echo \$! >$probe/bg; $SEE $probe/seen; ps -e -o uid= >$probe/ps; grep ' /proc ' /proc/self/mountinfo >$probe/mnt; kill \$!"
seen=$(cat "$probe/seen" 2>/dev/null)
[ -s "$probe/seen" ] && ! awk -v uid="$uid" '$1 != uid' "$probe/seen" | grep -q . &&
	pass isolation/hide/only-own-processes || fail isolation/hide/only-own-processes "$(awk -v uid="$uid" '$1 != uid' "$probe/seen" | head -5)"
lacks isolation/hide/no-pid-1 "$(awk '{print " " $2 " "}' "$probe/seen")" " 1 "
lacks isolation/hide/not-another-users "$(awk '{print " " $2 " "}' "$probe/seen")" " $other "
contains isolation/hide/own-background-job "$(awk '{print " " $2 " "}' "$probe/seen")" " $(cat "$probe/bg") "
# The same uid outside the session is the user's own: procfs shows what
# the reader may ptrace.
contains isolation/hide/own-process-elsewhere "$(awk '{print " " $2 " "}' "$probe/seen")" " $mine_outside "
[ -s "$probe/ps" ] && ! grep -qvx " *$uid" "$probe/ps" &&
	pass isolation/hide/ps-lists-own-only || fail isolation/hide/ps-lists-own-only "$(sort -u "$probe/ps" | head)"
contains isolation/hide/mounted-invisible "$(cat "$probe/mnt")" "hidepid=invisible"
contains isolation/hide/mounted-nosuid "$(cat "$probe/mnt")" "nosuid,nodev,noexec"
# The host's /proc is as it was: init's mount has no hidepid, and the
# user outside a session sees init.
lacks isolation/hide/host-proc-unchanged "$(grep ' /proc ' /proc/1/mountinfo)" hidepid
expect isolation/hide/host-sees-all-outside 0 setpriv --reuid="$u" --regid=nogroup --clear-groups test -e /proc/1
# Without: the user sees init and the other user.
write_policy "" ""
expect isolation/hide/off-login 0 "$RUN" "$svc" "$u" sh -c "$SEE $probe/seen"
contains isolation/hide/off-sees-others "$(awk '{print " " $2 " "}' "$probe/seen")" " $other "

# --- Ways round it, tried as the user from inside ---
write_policy "" "hide_processes = yes"
cat >"$probe/round.sh" <<'EOF'
# A user namespace of one's own: the session's /proc cannot be unmounted
# (the kernel locks what a more privileged namespace mounted together)...
unshare -Urm sh -c 'umount -l /proc 2>/dev/null; test -e /proc/1' && echo "LEAK umount"
# ... nor remounted, nor a procfs of the host's pid namespace mounted.
unshare -Urm sh -c 'mount -o remount,hidepid=0 /proc 2>/dev/null; test -e /proc/1' && echo "LEAK remount"
mkdir -p "$1/p$$"
unshare -Urm sh -c 'mount -t proc -o nosuid,nodev,noexec proc "$0" 2>/dev/null && test -e "$0/1"' "$1/p$$" && echo "LEAK mount"
# A pid namespace of one's own shows only itself.
unshare -Urmpf sh -c 'mount -t proc -o nosuid,nodev,noexec proc /proc && ls /proc | grep -c "^[0-9]"' >"$1/pidns" 2>&1
# Through the root of the session's own processes: the session's /proc.
test -e /proc/self/root/proc/1 && echo "LEAK root"
echo done
EOF
chmod 0644 "$probe/round.sh"
"$RUN" "$svc" "$u" sh "$probe/round.sh" "$probe" >"$probe/round" 2>&1
contains isolation/hide/round/ran "$(cat "$probe/round")" done
lacks isolation/hide/round/no-leak "$(cat "$probe/round")" LEAK
# (Where the user may make no user namespace, neither may the ways above.)
if setpriv --reuid="$uid" --regid=nogroup --clear-groups unshare -Ur true 2>/dev/null; then
	[ "$(cat "$probe/pidns" 2>/dev/null)" -le 3 ] 2>/dev/null &&
		pass isolation/hide/round/own-pid-ns-sees-itself || fail isolation/hide/round/own-pid-ns-sees-itself "$(cat "$probe/pidns" 2>/dev/null)"
else
	skip isolation/hide/round/own-pid-ns-sees-itself "this host lets no user make a user namespace"
fi

# --- hide_processes_group: its members see every process ---
grp=nscgt-g$$
groupadd "$grp" && on_exit "groupdel '$grp' 2>/dev/null"
usermod -a -G "$grp" "$u"
gid=$(getent group "$grp" | cut -d: -f3)
for g in "$grp" "$gid"; do
	write_policy "" "hide_processes = yes
hide_processes_group = $g"
	expect "isolation/hide/group-$([ "$g" = "$gid" ] && echo number || echo name)/login" 0 \
		"$RUN" "$svc" "$u" sh -c "$SEE $probe/seen; grep ' /proc ' /proc/self/mountinfo >$probe/mnt"
	contains "isolation/hide/group-$([ "$g" = "$gid" ] && echo number || echo name)/sees-init" "$(awk '{print " " $2 " "}' "$probe/seen")" " 1 "
	contains "isolation/hide/group-$([ "$g" = "$gid" ] && echo number || echo name)/mounted-gid" "$(cat "$probe/mnt")" "gid=$gid"
done
# A user outside the group still sees only their own.
gpasswd -d "$u" "$grp" >/dev/null
expect isolation/hide/group-not-member/login 0 "$RUN" "$svc" "$u" sh -c "$SEE $probe/seen"
lacks isolation/hide/group-not-member/no-init "$(awk '{print " " $2 " "}' "$probe/seen")" " 1 "

# --- Refusals: never a session that shows what the admin hid ---
write_policy "" "hide_processes = yes
hide_processes_group = nscg-no-such-group"
rm -f "$probe/in"
expect isolation/hide/unknown-group-denied 214 "$RUN" "$svc" "$u" touch "$probe/in"
[ ! -e "$probe/in" ] && pass isolation/hide/unknown-group-no-login || fail isolation/hide/unknown-group-no-login
logged "cannot look up hide_processes_group 'nscg-no-such-group'" &&
	pass isolation/hide/unknown-group-logged || fail isolation/hide/unknown-group-logged "$(tail -3 "$syslog")"
write_policy "" "hide_processes = yes
namespaces = cgroup ipc"
expect isolation/hide/no-mount-ns-denied 214 "$RUN" "$svc" "$u" touch "$probe/in"
logged "hide_processes = yes needs the mount namespace" &&
	pass isolation/hide/no-mount-ns-logged || fail isolation/hide/no-mount-ns-logged "$(tail -3 "$syslog")"
write_policy "" "hide_processes = yes
namespaces = none"
expect isolation/hide/no-namespaces-denied 214 "$RUN" "$svc" "$u" touch "$probe/in"
[ ! -e "$probe/in" ] && pass isolation/hide/refusals-no-login || fail isolation/hide/refusals-no-login

finish
