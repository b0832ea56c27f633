#!/bin/bash
# The demo: what pam_nscg would apply to a login, from the example policy.
# Creates a demo user and group, explains the policy for them, removes them.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ctl=$top/build/nscgctl
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates a demo user)" >&2; exit 1; }

dir=$(mktemp -d /tmp/nscg-demo-XXXXXX)
user=nscg-demo group=nscg-build
cleanup() {
	userdel "$user" 2>/dev/null || true
	groupdel "$group" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
chmod 0755 "$dir"
install -m 0644 "$top/conf/nscg.conf" "$dir/nscg.conf"
install -d -m 0755 "$dir/nscg.d"
cat >"$dir/nscg.d/50-build.conf" <<EOC
# The build group gets more memory and CPU, pinned to two CPUs.
[group:$group]
user.memory.max = 75%
user.cpu.max = 800%
session.memory.max = 8G
session.cpuset.cpus = 0-1
hostname = build-%s
EOC
chmod 0644 "$dir/nscg.d/50-build.conf"
getent group "$group" >/dev/null || groupadd "$group"
id "$user" >/dev/null 2>&1 || useradd -M -N -G "$group" -s /usr/sbin/nologin "$user"

echo "\$ nscgctl check --conf $dir/nscg.conf"
"$ctl" check --conf "$dir/nscg.conf" && echo "(clean)"
echo
echo "\$ nscgctl explain $user --conf $dir/nscg.conf --service sshd"
"$ctl" explain "$user" --conf "$dir/nscg.conf" --service sshd
echo
echo "\$ nscgctl explain root --conf $dir/nscg.conf --service sshd | head -4"
"$ctl" explain root --conf "$dir/nscg.conf" --service sshd | head -4
