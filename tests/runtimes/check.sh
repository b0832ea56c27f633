# shellcheck shell=bash
# Judges what tests/runtimes/probe.sh saw in a session whose limits are
# session.memory.max = $MEM bytes and session.cpu.max = 100%, with
# tests/lib.sh's pass, fail and skip. Sourced by tests/pam/runtimes.sh and
# tests/vm/run.sh.

# runtime_view: "view" lines as probe.sh prints them, of this process's
# mount table (the host's, to compare with).
runtime_view() {
	awk '{ for (i = 7; $i != "-"; i++); fs = $(i + 1) }
	     $5 == "/sys/fs/cgroup" || index($5, "/sys/fs/cgroup/") == 1 || fs ~ /^cgroup2?$/ {
		print "view", $5, $4, fs }' /proc/self/mountinfo
}

# uv_reads_v2 VERSION: libuv reads cgroup v2's memory.max from 1.45 on
# (libuv#3744); before, only /sys/fs/cgroup/memory/memory.limit_in_bytes,
# the root of a v1 mount: in a session, the session's.
uv_reads_v2() {
	local ma mi
	IFS=. read -r ma mi _ <<<"$1"
	[ "${ma:-0}" -gt 1 ] || { [ "${ma:-0}" = 1 ] && [ "${mi:-0}" -ge 45 ]; }
}

# check_runtimes PREFIX PROBE-OUTPUT HOST-VIEW
#   HOST-VIEW: runtime_view's lines outside the session.
check_runtimes() {
	local p=$1 out=$2 host=$3 v dups bad mem=$((512 << 20))
	got() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$out"; }
	if [ "$(got probe_done)" != 1 ]; then
		fail "$p/probe" "$(tr '\n' '|' <<<"${out:0:1500}")"
		return
	fi
	v=$(grep '^view ' <<<"$out")
	dups=$(awk '{ print $2 }' <<<"$v" | sort | uniq -d | tr '\n' ' ')
	[ -n "$v" ] && [ -z "$dups" ] && pass "$p/view/one-mount-each" ||
		fail "$p/view/one-mount-each" "more than one mount at: ${dups:-(none seen)}"
	bad=$(awk '$4 ~ /^cgroup2?$/ && $3 != "/"' <<<"$v")
	[ -n "$v" ] && [ -z "$bad" ] && pass "$p/view/rooted-at-slash" || fail "$p/view/rooted-at-slash" "$bad"
	bad=$(awk '$4 ~ /^cgroup2?$/ && $2 != "/sys/fs/cgroup" && index($2, "/sys/fs/cgroup/") != 1' <<<"$v")
	[ -z "$bad" ] && pass "$p/view/no-cgroupfs-elsewhere" || fail "$p/view/no-cgroupfs-elsewhere" "$bad"
	# The host's mount points and filesystems there (not their roots).
	local mine theirs
	mine=$(awk '$2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1 { print $2, $4 }' <<<"$v" | sort -u)
	theirs=$(awk '$2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1 { print $2, $4 }' <<<"$host" | sort -u)
	[ -n "$mine" ] && [ "$mine" = "$theirs" ] && pass "$p/view/same-hierarchies" ||
		fail "$p/view/same-hierarchies" "session: $(tr '\n' ';' <<<"$mine") host: $(tr '\n' ';' <<<"$theirs")"
	# Programs that count CPUs: OMP_NUM_THREADS from the module.
	[ "$(got nproc)" = 1 ] && pass "$p/nproc-one" || fail "$p/nproc-one" "nproc printed $(got nproc)"
	if [ -z "$(got make_flags)" ]; then
		skip "$p/make-one-job" "no make here"
	else
		grep -qw -- -j1 <<<"$(got make_flags)" && pass "$p/make-one-job" ||
			fail "$p/make-one-job" "MAKEFLAGS $(got make_flags)"
	fi
	# The JVM: a quarter of the session's memory for the heap, one CPU,
	# and the session's memory from the management bean.
	if [ -z "$(got jvm_cpus)" ] && [ -z "$(got jvm_settings_exception)" ]; then
		skip "$p/jvm" "no java here, or no probe class (javac builds it)"
	else
		local heap
		heap=$(got jvm_max_heap_bytes)
		[ -n "$heap" ] && [ "$heap" -le $((mem / 4 + (8 << 20))) ] 2>/dev/null &&
			pass "$p/jvm/heap-quarter-of-session" ||
			fail "$p/jvm/heap-quarter-of-session" "max heap ${heap:-?}: $(grep '^jvm_' <<<"$out" | head -c 600)"
		[ "$(got jvm_cpus)" = 1 ] && pass "$p/jvm/one-cpu" || fail "$p/jvm/one-cpu" "availableProcessors $(got jvm_cpus)"
		[ "$(got jvm_total_memory_bytes)" = "$mem" ] && pass "$p/jvm/total-memory-is-session" ||
			fail "$p/jvm/total-memory-is-session" "$(grep '^jvm_' <<<"$out" | head -c 600)"
		[ "$(got jvm_settings_exception)" = 0 ] && [ "$(got jvm_settings_memory_limit)" = 512.00M ] &&
			[ "$(got jvm_settings_cpus)" = 1 ] && pass "$p/jvm/show-settings" ||
			fail "$p/jvm/show-settings" "$(grep '^jvm_settings' <<<"$out")"
	fi
	# Node.js: the session's memory as its constrained memory.
	local cm
	cm=$(got node_constrained_memory)
	if [ -z "$cm" ]; then
		skip "$p/node" "no node here"
	elif [ "$cm" = none ]; then
		skip "$p/node" "this node has no process.constrainedMemory() (18.15 and later have)"
	elif grep -q '^view /sys/fs/cgroup [^ ]* cgroup2$' <<<"$host" && ! uv_reads_v2 "$(got node_libuv)"; then
		skip "$p/node" "its libuv $(got node_libuv) reads only cgroup v1's memory limit (cgroup v2's from 1.45)"
	else
		[ "$cm" = "$mem" ] && pass "$p/node/constrained-memory" || fail "$p/node/constrained-memory" "$cm"
		local hl
		hl=$(got node_heap_limit)
		[ -n "$hl" ] && [ "$hl" -le "$mem" ] 2>/dev/null && pass "$p/node/heap-within-session" ||
			fail "$p/node/heap-within-session" "heap limit $hl"
	fi
}
