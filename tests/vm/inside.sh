#!/bin/bash
# Runs as the test user inside a guest session over ssh; prints
# PASS:/FAIL: lines for what the session must look like. $1 = the guest
# name, $2 = "v2", "hybrid" or "v1", $3 = "systemd" or "standalone".
g=$1 layout=$2 stack=${3:-standalone}
prefix=vm/$g
# shellcheck source=tests/vm/guest.sh
. /usr/local/lib/nscg-vm-guest.sh
ok cgroup-root '! grep -qv ":/$" /proc/self/cgroup'
if [ "$layout" = v2 ]; then
	mem=/sys/fs/cgroup/memory.max pids=/sys/fs/cgroup/pids.max procs=/sys/fs/cgroup/cgroup.procs
	ok v2-only 'test "$(cat /proc/self/cgroup)" = "0::/"'
else
	# v1 and hybrid: the controllers' own hierarchies; on v1 no unified one.
	[ "$layout" = v1 ] && ok v1-only '! grep -q "^0::" /proc/self/cgroup && test ! -e /sys/fs/cgroup/unified'
	mem=/sys/fs/cgroup/memory/memory.limit_in_bytes pids=/sys/fs/cgroup/pids/pids.max procs=/sys/fs/cgroup/memory/cgroup.procs
fi
ok memory-limit 'test "$(cat $mem)" = 134217728'
ok pids-limit 'test "$(cat $pids)" = 64'
ok limit-not-writable '! echo max 2>/dev/null >$mem'
ok no-move-to-ns-root '! echo $$ 2>/dev/null >$procs'
ok no-umount '! umount /sys/fs/cgroup 2>/dev/null'
ok no-remount '! mount -o remount,rw /sys/fs/cgroup 2>/dev/null'
ok no-mount-ns-escape '! nsenter -t 1 -m true 2>/dev/null && ! nsenter -t 1 -C true 2>/dev/null'
if [ "$stack" = systemd ]; then
	# systemd wrote the limits: pam_nscg only asked for them.
	[ "$layout" = v2 ] && ok swap-limit 'test "$(cat /sys/fs/cgroup/memory.swap.max)" = 0'
	ok logind-session 'test -n "$XDG_SESSION_ID"'
fi
ok hostname 'test "$(hostname)" = "vm-$(id -un)"'
# A private /dev/shm, a quarter of session.memory.max (128M).
ok shm-private 'grep " /dev/shm " /proc/self/mountinfo | grep -q "tmpfs.*size=32768k"'
ok shm-capped '! dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; rm -f /dev/shm/fill'
if [ "$stack" = systemd ]; then
	# The user manager is outside the session: it gets a session's limits.
	ok user-manager-limited 'test "$(systemctl show -P MemoryMax "user@$(id -u).service")" = 134217728'
	# exec: the OOM killer's SIGKILL reaches the scope's own process, so
	# its status cannot be systemd's SIGTERM (OOMPolicy=stop) to a shell
	# that outlived the hog.
	ok systemd-run-user-bounded 'out=$(systemd-run --user --scope -q sh -c "exec tail /dev/zero" 2>&1); rc=$?
		detail="exit $rc: $(printf %s "$out" | tail -c 300 | tr "\n" " ")"; test $rc = 137'
fi
ok memory-hog-killed 'tail /dev/zero; test $? = 137'
if [ "$layout" = v2 ]; then
	ok oom-in-memory-events 'grep -q "^oom_kill [1-9]" /sys/fs/cgroup/memory.events'
else
	ok oom-in-oom-control 'grep -q "^oom_kill [1-9]" /sys/fs/cgroup/memory/memory.oom_control'
fi
# The children are killed once counted: nothing waits for them to end.
ok fork-loop-stops 'perl -e "my @k; for (1..200) { my \$p=fork(); last unless defined \$p; if (!\$p) { sleep 1000; exit 0 } push @k, \$p } kill 9, @k; waitpid(\$_, 0) for @k; exit(@k < 64 ? 0 : 1)"'
nohup sleep 1000 >/dev/null 2>&1 &
echo "leftover=$!"
# Double fork and setsid before logout: gone all the same.
setsid sh -c 'sleep 1000 & exit 0' </dev/null >/dev/null 2>&1 &
