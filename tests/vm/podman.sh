#!/bin/bash
# Runs as the test user inside a guest session with delegate = yes:
# rootless podman on a local root filesystem (busybox-static; no registry
# is reachable), its limits in the container's cgroup, enforced there.
# Prints PASS:/FAIL: lines; $1 = the name prefix.
prefix=$1
# shellcheck source=tests/vm/guest.sh
. /usr/local/lib/nscg-vm-guest.sh
rootfs=$HOME/bb
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/"
for c in sh cat tail sleep date; do ln -s busybox "$rootfs/bin/$c"; done
# podman run OPTIONS --rootfs DIR COMMAND: the options come first.
P=(podman --cgroup-manager=cgroupfs run --rm --network none)
R=(--rootfs "$rootfs")
ok limits-in-container-cgroup 'out=$("${P[@]}" --memory 64m --pids-limit 20 "${R[@]}" /bin/sh -c "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max" 2>$HOME/podman.err | tr "\n" " "); detail="$out $(tail -c 300 $HOME/podman.err)"; test "$out" = "67108864 20 "'
ok memory-enforced 'detail=$("${P[@]}" --memory 64m "${R[@]}" /bin/sh -c "tail /dev/zero" 2>&1); test $? = 137'
# The container's cgroup, seen from the session: in the user's subtree.
# The container lives until it is looked at (/go in its root), 5 minutes
# at most.
"${P[@]}" --memory 48m "${R[@]}" /bin/sh -c 'end=$(($(date +%s) + 300)); until [ -e /go ] || [ "$(date +%s)" -ge $end ]; do sleep 0.2; done' >/dev/null 2>&1 &
wait_until 'f=$(grep -lx 50331648 /sys/fs/cgroup/*/*/memory.max /sys/fs/cgroup/*/memory.max 2>/dev/null | head -1); [ -n "$f" ] && grep -q . "$(dirname "$f")/cgroup.procs"'
ok container-cgroup-in-subtree 'detail=$(ls /sys/fs/cgroup); test -n "$f"'
ok container-process-inside 'detail=$f; test -n "$f" && grep -q . "$(dirname "$f")/cgroup.procs"'
touch "$rootfs/go"
wait
