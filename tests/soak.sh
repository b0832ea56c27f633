#!/bin/bash
# make test-soak: the host tiers three times in a row (tests/run
# --repeat), while a CPU and I/O load runs beside them: a parallel build
# of the project in a loop (one job per core) and a writer that fills
# and syncs a 256 MiB file in a loop. A wait that only held on a quiet
# machine fails here. SOAK_ROUNDS sets the count (3).
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "SKIP: soak (needs root)"; exit 77; }
load=$PWD/build/soak-load
rm -rf "$load"
mkdir -p "$load"
pids=()
stop_load() {
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	rm -rf "$load"
}
trap stop_load EXIT
# The compiler's temporary files go to the load's directory: a build
# killed at the end leaves them, and /tmp is the leftover check's.
(
	export TMPDIR=$load
	while :; do
		make -s -j"$(nproc)" B="$load/build" all >/dev/null 2>&1
		rm -rf "$load/build"
	done
) &
pids+=($!)
(
	while :; do
		dd if=/dev/zero of="$load/io" bs=1M count=256 conv=fsync status=none
		rm -f "$load/io"
	done
) &
pids+=($!)
echo "# load: make -j$(nproc) of the project in a loop, and 256 MiB written and synced in a loop"
BUILD=${BUILD:-$PWD/build} tests/run --repeat "${SOAK_ROUNDS:-3}" host
