#!/bin/bash
# Set up a test user, two PAM services (pam_permit only; pam_nscg +
# pam_permit), a policy and a private cgroup parent; run bench-session;
# remove them. As root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-1000}
[ "$(id -u)" = 0 ] || { echo "bench-session: needs root" >&2; exit 1; }
d=$(mktemp -d /tmp/nscg-bench-XXXXXX)
u=nscgt-b$$ parent=nscg-bench-$$
cleanup() {
	rm -f "/run/nscg/uid-$(id -u "$u" 2>/dev/null).lock"
	rmdir /run/nscg 2>/dev/null || true
	userdel "$u" 2>/dev/null || true
	rm -f /etc/pam.d/nscg-bench-base-$$ /etc/pam.d/nscg-bench-nscg-$$
	for h in /sys/fs/cgroup/*/"$parent"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$d"
}
trap cleanup EXIT
chmod 0755 "$d"
install -m 0755 "$build/nscg-helper" "$d/nscg-helper"
printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\nsession.memory.max = 1G\nsession.pids.max = 512\nuser.cpu.max = 200%%\n' \
	"$parent" "$d" >"$d/nscg.conf"
chmod 0644 "$d/nscg.conf"
useradd -M -N -s /bin/sh "$u"
echo "session required pam_permit.so" >/etc/pam.d/nscg-bench-base-$$
printf 'session required %s/pam_nscg.so conf=%s/nscg.conf\nsession required pam_permit.so\n' \
	"$build" "$d" >/etc/pam.d/nscg-bench-nscg-$$
${WRAP:-} "$build/bench-session" nscg-bench-base-$$ nscg-bench-nscg-$$ "$u" "$n"
