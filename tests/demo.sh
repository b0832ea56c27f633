#!/bin/bash
# The demo: a sandboxed session opened through the real PAM stack.
# Installs pam_nscg (make install), creates a demo user and a demo PAM
# service, opens a session as login would (tests/pam/session-runner),
# prints what the session sees beside what the host sees, closes it and
# shows that nothing is left. Removes the demo user and service after.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it installs and creates a demo user)" >&2; exit 1; }

make -s -C "$top" install >/dev/null
pamdir=$(make -s -C "$top" --no-print-directory -f - <<<'include Makefile
p: ; @echo $(PAMDIR)' p)
user=nscg-demo svc=nscg-demo conf=/etc/security/nscg.d/90-nscg-demo.conf
cleanup() {
	rm -f "/run/nscg/uid-$(id -u "$user" 2>/dev/null).lock"
	userdel "$user" 2>/dev/null || true
	rm -f /etc/pam.d/$svc "$conf"
	# The module keeps its parent cgroup (nscg/) between logins; the
	# demo leaves the machine as it found it when no session is left.
	rmdir /sys/fs/cgroup/*/nscg /sys/fs/cgroup/nscg 2>/dev/null || true
	rmdir /run/nscg 2>/dev/null || true
}
trap cleanup EXIT
id "$user" >/dev/null 2>&1 || useradd -M -N -s /bin/sh "$user"
install -d -m 0755 /etc/security/nscg.d
cat >"$conf" <<EOC
# The demo user of tests/demo.sh (removed when it ends).
[user:$user]
session.memory.max = 512M
session.pids.max = 128
session.cpu.max = 50%
hostname = demo-%s
EOC
chmod 0644 "$conf"
cat >/etc/pam.d/$svc <<EOC
session required $pamdir/pam_nscg.so
session required pam_permit.so
EOC

echo "== nscgctl check"
nscgctl check && echo "(clean)"
echo
echo "== nscgctl explain $user --service $svc  (limits only)"
nscgctl explain "$user" --service "$svc" | grep -E '^(status|session\.|hostname)' | grep -v 'not set'
echo
show() {
	echo "hostname:           $(hostname)"
	echo "cgroup ns:          $(readlink /proc/self/ns/cgroup)"
	echo "mount ns:           $(readlink /proc/self/ns/mnt)"
	echo "/proc/self/cgroup:  $(grep -E ':(memory|pids|):' /proc/self/cgroup | tr '\n' ' ')"
	echo "memory limit:       $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
	echo "pids limit:         $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max 2>/dev/null || echo max)"
	echo "child cgroups seen: $(find /sys/fs/cgroup/memory/ -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)"
}
export -f show
echo "== the host, as root"
show
echo
echo "== inside a session of $user, opened with pam_open_session"
"$build/session-runner" "$svc" "$user" bash -c 'show; echo "whoami:             $(whoami)"; echo "write the limit:    $(echo 1G 2>&1 >/sys/fs/cgroup/memory/memory.limit_in_bytes || true)"; sleep 1000 & echo "left running:       sleep pid $!"; echo; echo "== nscgctl status, as $(whoami), from inside the session"; for i in $(seq 100); do nscgctl status >/dev/null 2>&1 && break; sleep 0.1; done; nscgctl status'
echo
echo "== after pam_close_session"
left=$(ls -d /sys/fs/cgroup/*/nscg/user-"$(id -u "$user")" 2>/dev/null || true)
echo "session cgroups left: ${left:-none}"
echo "processes of $user still running: $(ps -u "$user" -o stat= | grep -vc '^Z' || true)"
