#!/bin/bash
# Runs as the user inside a session (tests/pam/runtimes.sh on this host,
# tests/vm/run.sh in the guests) and prints what the session looks like
# to programs nobody here wrote, one "KEY VALUE" line each, for
# tests/runtimes/check.sh to judge:
#   view MOUNTPOINT ROOT FSTYPE   each mount at or below /sys/fs/cgroup,
#                                 and each cgroup filesystem elsewhere
#   nproc N, make_flags FLAGS     GNU nproc, and the -j of make -j$(nproc)
#   jvm_* ...                     the JVM's heap, CPUs and total memory,
#                                 and -XshowSettings:system
#   node_* ...                    Node.js's constrained memory and heap
# Usage: probe.sh CLASSDIR SCRATCHDIR (CLASSDIR holds Limits.class).
classes=$1 scratch=$2
awk '{ for (i = 7; $i != "-"; i++); fs = $(i + 1) }
     $5 == "/sys/fs/cgroup" || index($5, "/sys/fs/cgroup/") == 1 || fs ~ /^cgroup2?$/ {
	print "view", $5, $4, fs }' /proc/self/mountinfo
echo "nproc $(nproc)"
printf 'all: a b\na b:\n\t@echo "$(MAKEFLAGS)"\n' >"$scratch/Makefile"
command -v make >/dev/null &&
	echo "make_flags $(make -s -j"$(nproc)" -f "$scratch/Makefile" 2>&1 | head -1)"
if command -v java >/dev/null && [ -e "$classes/Limits.class" ]; then
	# No hsperfdata: it would go to /tmp, the host's without private_tmp.
	java -XX:-UsePerfData -cp "$classes" Limits 2>&1 | sed 's/^/jvm_/'
	s=$(java -XX:-UsePerfData -XshowSettings:system -version 2>&1)
	echo "jvm_settings_exception $(grep -c Exception <<<"$s")"
	echo "jvm_settings_memory_limit $(sed -n 's/^ *Memory Limit: *//p' <<<"$s")"
	echo "jvm_settings_cpus $(sed -n 's/^ *Effective CPU Count: *//p' <<<"$s")"
fi
if command -v node >/dev/null; then
	node -e 'const f = process.constrainedMemory;
		console.log("node_constrained_memory " + (typeof f == "function" ? f() : "none"));
		console.log("node_heap_limit " + require("v8").getHeapStatistics().heap_size_limit);
		console.log("node_libuv " + process.versions.uv)' 2>&1
fi
echo "probe_done 1"
