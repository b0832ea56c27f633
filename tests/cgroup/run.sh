#!/bin/bash
# The cgroup layer on this host's cgroupfs (test-cgroup), then again on
# the same host without its blkio hierarchy (unmounted in a private
# mount namespace), as machines of this kind come with and without one.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: cgroup (needs root)"; exit 77; }
"$BUILD/test-cgroup"
rc=$?
if [ -d /sys/fs/cgroup/blkio ] && mountpoint -q /sys/fs/cgroup/blkio; then
	unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/blkio && exec "$0"' "$BUILD/test-cgroup" |
		sed -E 's#^(PASS|FAIL|SKIP): cgroup/#\1: cgroup-no-blkio/#; s#^cgroup: #cgroup-no-blkio: #'
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
exit $rc
