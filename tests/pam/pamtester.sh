#!/bin/bash
# Real sessions through libpam with pamtester, as root: our own PAM
# service file, policy, cgroup parent, helper copy and test user, all
# removed afterwards. A pam_exec probe after pam_nscg in the stack runs
# inside the session and records what it sees.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: pamtester (needs root)"; exit 77; }
command -v pamtester >/dev/null || { fail pamtester/installed "pamtester missing"; exit 1; }

session_fixture nscgt-p


cat >"$d/probe.sh" <<'EOP'
#!/bin/sh
# Runs inside the session (pam_exec after pam_nscg).
out=@OUT@
{
	echo "== cgroup"; cat /proc/self/cgroup
	echo "== hostname"; hostname
	echo "== ns"; readlink /proc/self/ns/cgroup /proc/self/ns/mnt
	echo "== limit"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1
	echo "== fds"; ls -l /proc/self/fd/
} >"$out" 2>&1
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
echo $! >"$out.pid"
echo $! >>"$out.all"
exit 0
EOP
sed -i "s|@OUT@|$d/probe.out|" "$d/probe.sh"
chmod 0755 "$d/probe.sh"
# The probe's sleeps in stacks where pam_nscg did not sandbox the
# session (refused, exempt, on_error = allow) are nobody's to kill but
# ours.
kill_probe_sleeps() {
	local p
	while read -r p; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && kill -KILL "$p"
	done <"$d/probe.out.all"
	: >"$d/probe.out.all"
}
touch "$d/probe.out.all"
on_exit kill_probe_sleeps
cat >/etc/pam.d/$svc <<EOC
auth     required pam_permit.so
account  required pam_permit.so
session  required $BUILD/pam_nscg.so conf=$d/nscg.conf
session  optional pam_exec.so type=open_session $d/probe.sh
session  required pam_permit.so
EOC

# A session: open, the probe looks around, close.
write_policy "" "hostname = t-%u"
host_ns=$(readlink /proc/self/ns/cgroup)
expect pamtester/open-close 0 pamtester "$svc" "$u" open_session close_session
p=$(cat "$d/probe.out" 2>/dev/null)
cg=$(awk '/^== cgroup/{f=1;next} /^==/{f=0} f' <<<"$p")
[ -n "$cg" ] && ! grep -qv ':/$' <<<"$cg" && pass pamtester/cgroup-root ||
	fail pamtester/cgroup-root "$p"
grep -qx "t-$u" <<<"$p" && pass pamtester/hostname || fail pamtester/hostname "$p"
grep -q '^cgroup:' <<<"$p" && ! grep -qF "$host_ns" <<<"$p" &&
	pass pamtester/own-cgroup-ns || fail pamtester/own-cgroup-ns "$p"
grep -qx 268435456 <<<"$p" && pass pamtester/session-limit || fail pamtester/session-limit "$p"
fds=$(awk '/^== fds/{f=1;next} f' <<<"$p")
[ -n "$fds" ] && ! grep -E -- '-> (/sys/|socket:|/memfd:|.*/ns/)' <<<"$fds" &&
	pass pamtester/no-module-fds || fail pamtester/no-module-fds "$fds"
pid=$(cat "$d/probe.out.pid" 2>/dev/null)
# Dead means gone or a zombie waiting to be reaped (lib.sh's running).
[ -n "$pid" ] && ! running "$pid" && pass pamtester/leftover-killed ||
	{ fail pamtester/leftover-killed "pid $pid alive"; kill -9 "$pid" 2>/dev/null; }
left=$(ls -d /sys/fs/cgroup/*/$parent/user-$uid 2>/dev/null)
[ -z "$left" ] && pass pamtester/cgroups-removed || fail pamtester/cgroups-removed "$left"
logged "uid $uid session-[0-9a-f]* closed: cpu [0-9.]*s, peak memory [0-9]*M, oom kills 0" &&
	pass pamtester/accounting-logged || fail pamtester/accounting-logged "$(cat "$syslog" 2>/dev/null)"
logged "sandboxed in $parent/user-$uid/session-" &&
	pass pamtester/open-logged || fail pamtester/open-logged

# A broken policy: on_error decides, and nothing is created.
rm -f "$d/probe.out"
write_policy "bogus_key = 1" "hostname = t-%u"
expect pamtester/broken-policy-denies 1 pamtester "$svc" "$u" open_session
logged "nscg.conf:4: unknown key 'bogus_key' in \[global\]" &&
	pass pamtester/broken-policy-logged || fail pamtester/broken-policy-logged
# ... but whom it exempts stays exempt (root, in the example policy), so
# a typo cannot lock out the admin who would fix it.
write_policy "bogus_key = 1" "hostname = t-%u
[user:$u]
enabled = no"
expect pamtester/broken-policy-exempt-stays 0 pamtester "$svc" "$u" open_session close_session
logged "$u is not sandboxed" &&
	pass pamtester/broken-policy-exempt-logged || fail pamtester/broken-policy-exempt-logged
write_policy "on_error = allow
bogus_key = 1" "hostname = t-%u"
expect pamtester/broken-policy-allow 0 pamtester "$svc" "$u" open_session close_session
grep -q ':/nscg' "$d/probe.out" 2>/dev/null && fail pamtester/allow-unconfined ||
	pass pamtester/allow-unconfined
# A missing helper: refused before anything is made.
write_policy "" "hostname = t-%u"
sed -i "s|^helper = .*|helper = $d/missing-helper|" "$d/nscg.conf"
expect pamtester/missing-helper-denies 1 pamtester "$svc" "$u" open_session
left=$(ls -d /sys/fs/cgroup/*/$parent/user-$uid 2>/dev/null)
[ -z "$left" ] && pass pamtester/nothing-left-after-failure || fail pamtester/nothing-left-after-failure "$left"
# Exempt users are let through untouched.
write_policy "" "hostname = t-%u"
printf '[user:%s]\nenabled = no\n' "$u" >>"$d/nscg.conf"
rm -f "$d/probe.out"
expect pamtester/exempt 0 pamtester "$svc" "$u" open_session close_session
grep -q ":/$parent" "$d/probe.out" && fail pamtester/exempt-not-sandboxed || pass pamtester/exempt-not-sandboxed
kill_probe_sleeps

# Under valgrind memcheck: no leak and no memory error from the module.
# (valgrind 3.19 lacks pidfd_open, so this also runs the per-namespace
# setns fallback.)
if command -v valgrind >/dev/null; then
	write_policy "" "hostname = t-%u"
	expect pamtester/valgrind-memcheck 0 valgrind -q --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		pamtester "$svc" "$u" open_session close_session
	pid=$(cat "$d/probe.out.pid" 2>/dev/null)
	[ -n "$pid" ] && ! running "$pid" && pass pamtester/valgrind-session-cleaned ||
		fail pamtester/valgrind-session-cleaned
else
	skip pamtester/valgrind-memcheck "valgrind is not installed"
fi

# A hostile user name never reaches a path or an unescaped log line.
write_policy "" "hostname = t-%u"
expect pamtester/hostile-name-denied 1 pamtester "$svc" '../x' open_session
logged -F 'refusing the user name "../x"' && pass pamtester/hostile-name-logged ||
	fail pamtester/hostile-name-logged
expect pamtester/newline-name-denied 1 pamtester "$svc" $'a\nb' open_session
logged -F 'refusing the user name "a\x0ab"' && pass pamtester/newline-name-escaped ||
	fail pamtester/newline-name-escaped
