#!/bin/bash
# Run as the user inside a sandboxed session (tests/escape/run.sh, and the
# VM guests): the classic ways out, each of which must fail. Prints one
# PASS:/FAIL: line per attempt. $1: where to leave the pids of processes
# started to outlive the session, for the caller to check after logout;
# $2: the prefix of the test names.
left=${1:-/dev/null} prefix=${2:-escape/inside}
held() { if eval "$2" 2>/dev/null; then echo "PASS: $prefix/$1"; else echo "FAIL: $prefix/$1"; fi; }
me=$$
# The session's own cgroup files, whatever the layout.
if [ -f /sys/fs/cgroup/cgroup.procs ] && [ ! -d /sys/fs/cgroup/memory ]; then
	procs=/sys/fs/cgroup/cgroup.procs mem=/sys/fs/cgroup/memory.max pids=/sys/fs/cgroup/pids.max
	cgtype=cgroup2 cgopts=
else
	procs=/sys/fs/cgroup/memory/cgroup.procs mem=/sys/fs/cgroup/memory/memory.limit_in_bytes
	pids=/sys/fs/cgroup/pids/pids.max cgtype=cgroup cgopts=-omemory
fi

held sees-itself-as-root '! grep -qv ":/$" /proc/self/cgroup'
held move-to-cgroup-root "! echo $me >$procs"
held move-to-unified-root "! echo $me >/sys/fs/cgroup/unified/cgroup.procs || [ ! -d /sys/fs/cgroup/unified ]"
held raise-memory-limit "! echo max >$mem && ! echo -1 >$mem"
held raise-pids-limit "! echo max >$pids"
held create-a-cgroup '! mkdir /sys/fs/cgroup/escape && ! mkdir /sys/fs/cgroup/memory/escape'
held unmount-cgroupfs '! umount /sys/fs/cgroup && ! umount -l /sys/fs/cgroup'
held remount-cgroupfs-rw '! mount -o remount,rw /sys/fs/cgroup'
held release-agent '! echo /bin/sh >/sys/fs/cgroup/memory/release_agent && ! echo /bin/sh >/sys/fs/cgroup/release_agent'
# As root of a user namespace: a new cgroupfs mount shows this session's
# subtree at most, its limits stay root's, and no release_agent.
held userns-cgroupfs-mount "! unshare -Urm sh -c \"mount -t $cgtype $cgopts none /mnt && grep -qx 1 /mnt/cgroup.procs\""
held userns-release-agent '! unshare -UrmC sh -c "mount -t cgroup -o memory none /mnt && echo /bin/sh >/mnt/release_agent"'
held userns-move-to-root "! unshare -Ur sh -c \"echo \\\$\\\$ >$procs\""
held userns-raise-limit "! unshare -Ur sh -c \"echo max >$mem\""
held nsenter-pid1-mount '! nsenter -t 1 -m true'
held nsenter-pid1-cgroup '! nsenter -t 1 -C true'
held setns-pid1-files '! cat /proc/1/ns/mnt >/dev/null && ! ls /proc/1/ns/cgroup -L >/dev/null'
held proc1-root '! ls /proc/1/root/ >/dev/null'
held proc1-cwd '! ls /proc/1/cwd/ >/dev/null'
# The root process that opened the session (session-runner, login, su)
# is root's: nothing of it may be read or traced.
held caller-closed "[ \"\$(stat -c %u /proc/$PPID)\" != 0 ] || ! cat /proc/$PPID/environ >/dev/null"
held chroot '! chroot / true'
held new-hierarchy "! mount -t cgroup -o none,name=escape none /mnt"
held sysfs-remount '! mount -o remount,rw /sys'
# Leftovers, for the caller to check after logout: each way of outliving
# a login there is.
nohup sleep 1000 >/dev/null 2>&1 &
echo $! >>"$left"
# (-w: where this shell leads its process group, setsid forks; its pid
# is written before the login ends all the same.)
setsid -w sh -c 'sleep 1000 & echo $! >>'"$left"'; exit 0' </dev/null >/dev/null 2>&1
(trap '' HUP TERM INT; exec sleep 1000) </dev/null >/dev/null 2>&1 &
echo $! >>"$left"
# (It stops itself once its redirections are in place: stopped from
# here, it could be stopped before, holding the login's output open.)
sh -c 'kill -STOP $$; exec sleep 1000' </dev/null >/dev/null 2>&1 &
echo $! >>"$left"
# A process that forks while it is being killed.
perl -e 'while (1) { my $p = fork(); if (defined $p && !$p) { sleep 1000; exit 0 } select(undef, undef, undef, 0.01) }' </dev/null >/dev/null 2>&1 &
echo $! >>"$left"
# Last, a fork bomb: the session's pids.max holds it (nothing else can
# fork after it), and close has to kill it.
bash -c ':(){ :|:& };:' </dev/null >/dev/null 2>&1 &
exit 0
