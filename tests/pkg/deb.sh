#!/bin/bash
# The Debian package, as root: build it (make deb), check its contents and
# lintian, install it, see pam-auth-update enable it, log in through it
# with su, then remove and purge it and check that /etc/pam.d is as it was.
# This changes the system (dpkg, /etc/pam.d): it restores /etc/pam.d and
# any files it had to move from a snapshot, whatever happens.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: deb (needs root)"; exit 77; }
PKG=libpam-nscg
export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed; then
	fail deb/not-installed-before "$PKG is installed already; not touching it"
	exit 1
fi

make -s -C "$TOP" deb >/dev/null 2>&1 || { fail deb/build "make deb"; exit 1; }
deb=$(make -s -C "$TOP" --no-print-directory deb-path)
[ -f "$deb" ] && pass deb/build || { fail deb/build "no $deb"; exit 1; }

# What is in it, and with which modes.
pamdir=/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/security
list=$(dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }')
has() { # NAME "MODE OWNER PATH"
	grep -qxF -- "$2" <<<"$list" && pass "deb/file/$1" || fail "deb/file/$1" "no '$2'"
}
has module "-rw-r--r-- root/root .$pamdir/pam_nscg.so"
has helper "-rwxr-xr-x root/root ./usr/libexec/nscg/nscg-helper"
has nscgctl "-rwxr-xr-x root/root ./usr/bin/nscgctl"
has policy "-rw-r--r-- root/root ./etc/security/nscg.conf"
has dropin-dir "drwxr-xr-x root/root ./etc/security/nscg.d/"
has pam-config "-rw-r--r-- root/root ./usr/share/pam-configs/nscg"
for p in man5/nscg.conf.5 man8/pam_nscg.8 man8/nscgctl.8 man8/nscg-helper.8; do
	has "${p#*/}" "-rw-r--r-- root/root ./usr/share/man/$p.gz"
done
setid='^-(..[sS]|.....[sS])'
grep -q "$pamdir/pam_nscg.so" <<<"$list" && ! grep -qE "$setid" <<<"$list" &&
	pass deb/no-setuid || fail deb/no-setuid "$(grep -E "$setid" <<<"$list")"
ctl=$(mktemp -d /tmp/nscg-deb-XXXXXX)
on_exit "rm -rf '$ctl'"
dpkg-deb -e "$deb" "$ctl/DEBIAN"
[ "$(sort "$ctl/DEBIAN/conffiles" | tr '\n' ' ')" = "/etc/cron.d/nscg-gc /etc/cron.d/nscg-metrics /etc/security/nscg.conf " ] &&
	pass deb/conffile || fail deb/conffile "$(cat "$ctl/DEBIAN/conffiles")"
grep -q 'nscg-gc.timer' "$ctl/DEBIAN/postinst" && pass deb/gc-timer-enabled ||
	fail deb/gc-timer-enabled "the postinst does not enable nscg-gc.timer"
# The metrics' timer is the admin's to enable: the postinst enables it
# again only where it was enabled before, and never starts it.
en=$(grep -B3 "deb-systemd-helper enable 'nscg-metrics.timer'" "$ctl/DEBIAN/postinst")
grep -q "was-enabled 'nscg-metrics.timer'" <<<"$en" &&
	! grep -q "deb-systemd-invoke.*start.*nscg-metrics" "$ctl/DEBIAN/postinst" &&
	pass deb/metrics-timer-not-enabled || fail deb/metrics-timer-not-enabled "$(grep nscg-metrics "$ctl/DEBIAN/postinst")"
# Built for systemd mode: the module loads libsystemd when a login needs
# it (not linked: login and su would load it for every login), and the
# package depends on it.
dpkg-deb -x "$deb" "$ctl/root"
mod=$ctl/root$pamdir/pam_nscg.so
grep -q 'libsystemd.so.0' "$mod" && grep -q 'sd_bus_open_system' "$mod" &&
	! readelf -dW "$mod" | grep -q 'NEEDED.*libsystemd' &&
	pass deb/with-libsystemd || fail deb/with-libsystemd "the module does not load libsystemd at run time"
grep -q '^Depends:.*libsystemd0' "$ctl/DEBIAN/control" && pass deb/depends-libsystemd ||
	fail deb/depends-libsystemd "$(grep ^Depends "$ctl/DEBIAN/control")"

# lintian: nothing at warning level or above (the overrides say why).
# Its temporary files go to a directory of ours (it leaves some).
if command -v lintian >/dev/null; then
	mkdir "$ctl/lintian-tmp"
	out=$(TMPDIR=$ctl/lintian-tmp lintian --fail-on error,warning "$deb" 2>&1)
	rc=$?
	out=$(grep -v '^running with root privileges' <<<"$out")
	[ $rc = 0 ] && ! grep -qE '^[EW]: ' <<<"$out" && pass deb/lintian || fail deb/lintian "$out"
else
	skip deb/lintian "lintian is not installed"
fi

# The state to come back to: /etc/pam.d and pam-auth-update's own record
# of it in /var/lib/pam, and whatever lies at the package's paths already
# (a `make install`), moved aside until the end.
pamstate=(/etc/pam.d /var/lib/pam)
snap() {
	find "${pamstate[@]}" -printf '%p %y %m %u %g %l\n' | sort
	find "${pamstate[@]}" -type f -exec sha256sum {} + | sort
}
snap >"$ctl/pam.before"
tar -C / -cpf "$ctl/pam.tar" "${pamstate[@]#/}"
mkdir "$ctl/aside"
for f in "$pamdir/pam_nscg.so" /usr/libexec/nscg /usr/bin/nscgctl \
	/etc/security/nscg.conf /etc/security/nscg.d; do
	[ -e "$f" ] || continue
	mkdir -p "$ctl/aside$(dirname "$f")"
	mv "$f" "$ctl/aside$f"
	on_exit "rm -rf '$f'; mv '$ctl/aside$f' '$f'"
done
# Runs last of all: purge if still installed, put the PAM state back if
# it differs.
restore() {
	dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q installed &&
		dpkg -P "$PKG" >/dev/null 2>&1
	if ! snap | cmp -s - "$ctl/pam.before"; then
		rm -rf "${pamstate[@]}" && tar -C / -xpf "$ctl/pam.tar"
	fi
}
on_exit restore

out=$(dpkg -i "$deb" 2>&1) && pass deb/install || fail deb/install "$out"
cs=/etc/pam.d/common-session
grep -qE '^session\s+required\s+pam_nscg\.so' "$cs" &&
	pass deb/pam-auth-update-enabled || fail deb/pam-auth-update-enabled "$(cat "$cs")"
nscg_line=$(grep -n 'pam_nscg\.so' "$cs" | cut -d: -f1)
sd_line=$(grep -n 'pam_systemd\.so' "$cs" | cut -d: -f1)
if [ -n "$sd_line" ]; then
	[ "${nscg_line:-0}" -gt "$sd_line" ] && pass deb/after-pam_systemd ||
		fail deb/after-pam_systemd "pam_nscg on line ${nscg_line:-none}, pam_systemd on $sd_line"
fi
grep -qE '^session\s+required\s+pam_nscg\.so' /etc/pam.d/common-session-noninteractive &&
	pass deb/noninteractive-too || fail deb/noninteractive-too "$(cat /etc/pam.d/common-session-noninteractive)"
expect deb/policy-clean 0 /usr/bin/nscgctl check
# The sweep every minute: a timer for systemd, a cron entry otherwise,
# whose command runs here (no systemd: the timer is not active).
[ -f /lib/systemd/system/nscg-gc.timer ] && [ -f /lib/systemd/system/nscg-gc.service ] &&
	grep -q '^ExecStart=/usr/bin/nscgctl gc --quiet$' /lib/systemd/system/nscg-gc.service &&
	pass deb/gc-timer || fail deb/gc-timer
cronline=$(sed -n 's/^\* \* \* \* \* root //p' /etc/cron.d/nscg-gc 2>/dev/null)
[ -n "$cronline" ] && pass deb/gc-cron || fail deb/gc-cron "$(cat /etc/cron.d/nscg-gc 2>&1)"
expect deb/gc-cron-runs 0 sh -c "$cronline"
# The metrics: a timer and a cron entry, both off; the entry's command,
# once uncommented, writes the file whole.
grep -q '^ExecStart=/usr/bin/nscgctl metrics --output /var/lib/prometheus/node-exporter/nscg.prom$' \
	/lib/systemd/system/nscg-metrics.service 2>/dev/null && [ -f /lib/systemd/system/nscg-metrics.timer ] &&
	pass deb/metrics-timer || fail deb/metrics-timer
! grep -q '^\*' /etc/cron.d/nscg-metrics && pass deb/metrics-cron-off || fail deb/metrics-cron-off
mline=$(sed -n 's/^#\* \* \* \* \* root //p' /etc/cron.d/nscg-metrics 2>/dev/null)
mdir=/var/lib/prometheus/node-exporter
made_mdir=
[ -d "$mdir" ] || { mkdir -p "$mdir" && made_mdir=1; }
expect deb/metrics-cron-runs 0 sh -c "$mline"
grep -q '^# TYPE nscg_sessions gauge$' "$mdir/nscg.prom" && pass deb/metrics-written ||
	fail deb/metrics-written "$(ls -l "$mdir")"
rm -f "$mdir/nscg.prom"
[ -z "$made_mdir" ] || rmdir "$mdir"

# A real login through common-session: su to a test user, with a drop-in
# that gives the test its own cgroup parent, a memory limit and a host name.
session_fixture nscgt-d
dropin=/etc/security/nscg.d/zz-nscg-test-$$.conf
on_exit "rm -f '$dropin'"
printf '[global]\ncgroup_parent = %s\n[user:%s]\nsession.memory.max = 96M\nhostname = deb-%%u\n' \
	"$parent" "$u" >"$dropin"
chmod 0644 "$dropin"
host_ns=$(readlink /proc/self/ns/cgroup)
# The log's lines come through syslog-capture.py, a moment after they
# are sent: they are waited for.
su_logged() {
	grep -q "$u (uid $uid) sandboxed in $parent/user-$uid/session-" "$syslog" &&
		grep -q "uid $uid session-[0-9a-f]* closed" "$syslog"
}
expect deb/su-login 0 su -s /bin/sh -c '
	readlink /proc/self/ns/cgroup; hostname
	cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	kill -0 $! && echo $!' "$u"
inside=($OUT)
[ -n "${inside[0]:-}" ] && [ "${inside[0]}" != "$host_ns" ] &&
	pass deb/su-own-cgroup-ns || fail deb/su-own-cgroup-ns "${inside[0]:-none} (host $host_ns)"
[ "${inside[1]:-}" = "deb-$u" ] && pass deb/su-hostname || fail deb/su-hostname "${inside[1]:-none}"
[ "${inside[2]:-}" = $((96 << 20)) ] && pass deb/su-memory-limit ||
	fail deb/su-memory-limit "${inside[2]:-none}"
wait_for su_logged && pass deb/su-logged || fail deb/su-logged "$(cat "$syslog" 2>/dev/null)"
# The sleep ran at logout; killed then, it is gone once the kernel has
# let it exit (or a zombie waiting to be reaped).
[ -n "${inside[3]:-}" ] && wait_for stopped "${inside[3]}" && pass deb/su-leftovers-killed ||
	fail deb/su-leftovers-killed "pid ${inside[3]:-none}: $(ps -o stat=,args= -p "${inside[3]:-0}" || echo not started)"
! ls -d /sys/fs/cgroup/*/"$parent"/user-"$uid" >/dev/null 2>&1 &&
	pass deb/su-cgroups-removed || fail deb/su-cgroups-removed
# An at job, through atd's stack and so common-session-noninteractive:
# sandboxed too (tests/pam/atd.sh tries atd's stack in full).
if ! command -v atd >/dev/null || ! command -v at >/dev/null; then
	skip deb/at-job-sandboxed "at is not installed"
elif pgrep -x atd >/dev/null; then
	fail deb/at-job "an atd is running"
else
	jobdir=$(mktemp -d /var/tmp/nscg-debat-XXXXXX)
	chmod 0777 "$jobdir"
	on_exit "rm -rf '$jobdir'"
	on_exit "atrm \$(atq | awk -v u='$u' '\$NF == u { print \$1 }') 2>/dev/null; true"
	(cd / && echo "readlink /proc/self/ns/cgroup >$jobdir/ns" | runuser -u "$u" -- at now 2>/dev/null)
	atd -s
	wait_for test -s "$jobdir/ns"
	[ -s "$jobdir/ns" ] && [ "$(cat "$jobdir/ns")" != "$host_ns" ] && pass deb/at-job-sandboxed ||
		fail deb/at-job-sandboxed "$(cat "$jobdir/ns" 2>&1) (host $host_ns)"
	wait_for at_done "$u"
fi
rm -f "$dropin"

# Remove: the line goes, the policy stays; purge: the policy goes too,
# and /etc/pam.d (with pam-auth-update's record) is what it was.
out=$(dpkg -r "$PKG" 2>&1) && pass deb/remove || fail deb/remove "$out"
! grep -q pam_nscg "$cs" && pass deb/remove-disables || fail deb/remove-disables
[ ! -e "$pamdir/pam_nscg.so" ] && [ -e /etc/security/nscg.conf ] &&
	pass deb/remove-keeps-conffile || fail deb/remove-keeps-conffile
out=$(dpkg -P "$PKG" 2>&1) && pass deb/purge || fail deb/purge "$out"
[ ! -e /etc/security/nscg.conf ] && [ ! -e /etc/security/nscg.d ] &&
	pass deb/purge-removes-policy || fail deb/purge-removes-policy
[ ! -e /etc/cron.d/nscg-gc ] && [ ! -e /lib/systemd/system/nscg-gc.timer ] &&
	[ ! -e /etc/cron.d/nscg-metrics ] && [ ! -e /lib/systemd/system/nscg-metrics.timer ] &&
	[ -z "$(find /etc/systemd -name 'nscg-gc*' 2>/dev/null)" ] &&
	pass deb/purge-removes-gc || fail deb/purge-removes-gc "$(find /etc/systemd /etc/cron.d -name 'nscg-gc*')"
snap | diff "$ctl/pam.before" - >"$ctl/pam.diff" && pass deb/pam.d-unchanged ||
	fail deb/pam.d-unchanged "$(head -c 600 "$ctl/pam.diff")"
