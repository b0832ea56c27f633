# shellcheck shell=bash
# What the session benchmarks share, as root: a policy directory ($d, with
# a root-owned helper copy), a test user ($u), a cgroup parent ($parent);
# all removed at exit. bench_fixture NAME POLICY-LINES
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$top/build}
bench_fixture() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: $1 (needs root)"; exit 77; }
	d=$(mktemp -d /tmp/nscg-bench-XXXXXX)
	u=nscgt-b$$ parent=nscg-$1-$$
	trap bench_cleanup EXIT
	chmod 0755 "$d"
	install -m 0755 "$build/nscg-helper" "$d/nscg-helper"
	printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\n%s\n' \
		"$parent" "$d" "$2" >"$d/nscg.conf"
	chmod 0644 "$d/nscg.conf"
	useradd -M -N -s /bin/sh "$u"
}
bench_cleanup() {
	pkill -KILL -u "$u" 2>/dev/null || true
	wait 2>/dev/null || true
	local uid
	uid=$(id -u "$u" 2>/dev/null)
	rm -f "/run/nscg/uid-$uid.lock" "/run/nscg/uid-$uid.swept" /run/nscg/sessions/uid-"$uid".*
	rmdir /run/nscg/sessions /run/nscg/tmp /run/nscg /run/nscg-status 2>/dev/null || true
	userdel "$u" 2>/dev/null || true
	rm -f /etc/pam.d/nscg-bench-*-$$
	for h in /sys/fs/cgroup/*/"$parent"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$d"
}
# Two PAM services: nscg-bench-base-PID (pam_permit only) and
# nscg-bench-nscg-PID (pam_nscg, then pam_permit).
bench_services() {
	echo "session required pam_permit.so" >/etc/pam.d/nscg-bench-base-$$
	printf 'session required %s/pam_nscg.so conf=%s/nscg.conf\nsession required pam_permit.so\n' \
		"$build" "$d" >/etc/pam.d/nscg-bench-nscg-$$
}
