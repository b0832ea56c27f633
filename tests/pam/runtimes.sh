#!/bin/bash
# The session's view is a container's (DESIGN.md §4), tried by programs
# nobody here wrote, in real sessions through libpam
# (tests/pam/session-runner.c) with session.memory.max = 512M and
# session.cpu.max = 100%:
#   - /proc/self/mountinfo shows one mount at each cgroup mount point,
#     rooted at "/", and no cgroup filesystem anywhere else;
#   - the JVM sizes its heap to the session, counts 1 CPU, and its
#     management bean gives the session's memory;
#   - GNU nproc prints 1 (OMP_NUM_THREADS from the module, export_cpus),
#     an earlier value in the PAM environment wins, export_cpus = no
#     leaves it out, and make -j$(nproc) runs one job at a time;
#   - Node.js reads the session's memory limit.
# A runtime this host lacks is a SKIP.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: runtimes (needs root)"; exit 77; }
RUN=$BUILD/session-runner
MEM=$((512 << 20))

session_fixture nscgt-r
plain_service
probe=$(mktemp -d /var/tmp/nscg-probe-XXXXXX)
chmod 0777 "$probe"
on_exit "rm -rf '$probe'"
on_exit "pkill -KILL -u '$u' 2>/dev/null; wait_for no_procs_of '$u'"
policy() { # EXTRA-DEFAULT-LINES
	printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\nsession.memory.max = 512M\nsession.cpu.max = 100%%\nsession.pids.max = 512\n%s\n' \
		"$parent" "$d" "${1:-}" >"$d/nscg.conf"
	chmod 0644 "$d/nscg.conf"
}
policy
host_cpus=$(nproc)

# --- The view: mountinfo as a container's ---
expect runtimes/mountinfo/login 0 "$RUN" "$svc" "$u" sh -c "cat /proc/self/mountinfo >$probe/mi"
# view_mounts FILE: "MOUNTPOINT ROOT FSTYPE" of each mount at or below
# /sys/fs/cgroup, and of each cgroup filesystem anywhere.
view_mounts() {
	awk '{ for (i = 7; $i != "-"; i++); fs = $(i + 1) }
	     $5 == "/sys/fs/cgroup" || index($5, "/sys/fs/cgroup/") == 1 || fs ~ /^cgroup2?$/ {
		print $5, $4, fs }' "$1"
}
view_mounts "$probe/mi" >"$probe/view"
view_mounts /proc/self/mountinfo >"$probe/host"
[ -s "$probe/view" ] && pass runtimes/mountinfo/read || fail runtimes/mountinfo/read
dups=$(awk '{ print $1 }' "$probe/view" | sort | uniq -d)
[ -z "$dups" ] && pass runtimes/mountinfo/one-mount-each ||
	fail runtimes/mountinfo/one-mount-each "more than one mount at: $dups"
not_root=$(awk '$3 ~ /^cgroup2?$/ && $2 != "/"' "$probe/view")
[ -z "$not_root" ] && pass runtimes/mountinfo/rooted-at-slash ||
	fail runtimes/mountinfo/rooted-at-slash "$not_root"
elsewhere=$(awk '$3 ~ /^cgroup2?$/ && $1 != "/sys/fs/cgroup" && index($1, "/sys/fs/cgroup/") != 1' "$probe/view")
[ -z "$elsewhere" ] && pass runtimes/mountinfo/none-elsewhere ||
	fail runtimes/mountinfo/none-elsewhere "$elsewhere"
# The same mount points and filesystems as the host's (its roots aside).
[ "$(awk '{ print $1, $3 }' "$probe/view" | sort)" = "$(awk '{ print $1, $3 }' "$probe/host" | sort)" ] &&
	pass runtimes/mountinfo/same-hierarchies ||
	fail runtimes/mountinfo/same-hierarchies "session: $(awk '{ print $1, $3 }' "$probe/view" | sort | tr '\n' ';') host: $(awk '{ print $1, $3 }' "$probe/host" | sort | tr '\n' ';')"

# --- The JVM ---
if ! command -v java >/dev/null; then
	skip runtimes/jvm "no java here (Debian: openjdk-17-jre-headless)"
elif ! command -v javac >/dev/null; then
	skip runtimes/jvm "no javac here to build the probe (Debian: openjdk-17-jdk-headless)"
else
	mkdir -p "$BUILD/runtimes"
	javac -d "$BUILD/runtimes" "$TOP/tests/runtimes/Limits.java" &&
		pass runtimes/jvm/probe-built || fail runtimes/jvm/probe-built
	cp "$BUILD/runtimes/Limits.class" "$probe/"
	chmod 0644 "$probe/Limits.class"
	# No hsperfdata: it would go to the host's /tmp.
	expect runtimes/jvm/ran 0 "$RUN" "$svc" "$u" sh -c \
		"java -XX:-UsePerfData -XshowSettings:system -version >$probe/jvm-settings 2>&1;
		 java -XX:-UsePerfData -cp $probe Limits >$probe/jvm 2>&1"
	got() { awk -v k="$1" '$1 == k { print $2 }' "$probe/jvm"; }
	heap=$(got max_heap_bytes) cpus=$(got cpus) total=$(got total_memory_bytes)
	# The default heap is a quarter of the memory the JVM finds.
	[ -n "$heap" ] && [ "$heap" -le $((MEM / 4 + (8 << 20))) ] &&
		pass runtimes/jvm/heap-quarter-of-session || fail runtimes/jvm/heap-quarter-of-session "max heap $heap bytes; $(head -c 600 "$probe/jvm")"
	[ "$cpus" = 1 ] && pass runtimes/jvm/one-cpu || fail runtimes/jvm/one-cpu "availableProcessors $cpus"
	[ "$total" = "$MEM" ] && pass runtimes/jvm/total-memory-is-session ||
		fail runtimes/jvm/total-memory-is-session "getTotalMemorySize $total; $(head -c 600 "$probe/jvm")"
	contains runtimes/jvm/settings-ran "$(cat "$probe/jvm-settings")" "Operating System Metrics"
	lacks runtimes/jvm/settings-no-exception "$(cat "$probe/jvm-settings")" Exception
	contains runtimes/jvm/settings-memory-limit "$(cat "$probe/jvm-settings")" "Memory Limit: 512.00M"
fi

# --- Programs that count CPUs: nproc, make ---
if [ "$host_cpus" -lt 2 ]; then
	skip runtimes/nproc "this host has one CPU: no budget is below it"
else
	expect runtimes/nproc/login 0 "$RUN" "$svc" "$u" sh -c \
		"nproc >$probe/nproc; printf 'all: a b\na b:\n\t@echo \"\$(MAKEFLAGS)\"\n' >$probe/Makefile;
		 make -s -j\$(nproc) -f $probe/Makefile >$probe/make 2>&1"
	[ "$(cat "$probe/nproc")" = 1 ] && pass runtimes/nproc/one ||
		fail runtimes/nproc/one "nproc printed $(cat "$probe/nproc")"
	grep -q -- '-j1\b' "$probe/make" && ! grep -q -- '-j[02-9]' "$probe/make" &&
		pass runtimes/make/one-job || fail runtimes/make/one-job "$(head -c 300 "$probe/make")"
	# An earlier module's value in the PAM environment wins.
	printf 'OMP_NUM_THREADS DEFAULT=%s\n' "$host_cpus" >"$d/env.conf"
	printf 'session required pam_env.so readenv=0 conffile=%s/env.conf\nsession required %s/pam_nscg.so conf=%s/nscg.conf\nsession required pam_permit.so\n' \
		"$d" "$BUILD" "$d" >/etc/pam.d/"$svc"
	expect runtimes/nproc/earlier-value-login 0 "$RUN" "$svc" "$u" sh -c "nproc >$probe/nproc"
	[ "$(cat "$probe/nproc")" = "$host_cpus" ] && pass runtimes/nproc/earlier-value-wins ||
		fail runtimes/nproc/earlier-value-wins "nproc printed $(cat "$probe/nproc")"
	plain_service
	# export_cpus = no: nothing set.
	policy "export_cpus = no"
	expect runtimes/nproc/off-login 0 "$RUN" "$svc" "$u" sh -c "nproc >$probe/nproc; env >$probe/env"
	[ "$(cat "$probe/nproc")" = "$host_cpus" ] && pass runtimes/nproc/off-host-count ||
		fail runtimes/nproc/off-host-count "nproc printed $(cat "$probe/nproc")"
	lacks runtimes/nproc/off-not-set "$(cat "$probe/env")" OMP_NUM_THREADS
	policy
fi

# --- Node.js ---
if ! command -v node >/dev/null; then
	skip runtimes/node "no node here (Debian: nodejs)"
elif ! node -e 'process.exit(typeof process.constrainedMemory == "function" ? 0 : 1)'; then
	skip runtimes/node "node $(node --version) has no process.constrainedMemory() (18.15 and later have)"
else
	expect runtimes/node/ran 0 "$RUN" "$svc" "$u" sh -c \
		"node -e 'console.log(process.constrainedMemory(), require(\"v8\").getHeapStatistics().heap_size_limit)' >$probe/node 2>&1"
	read -r cm hl <"$probe/node"
	[ "$cm" = "$MEM" ] && pass runtimes/node/constrained-memory ||
		fail runtimes/node/constrained-memory "$(cat "$probe/node")"
	[ -n "$hl" ] && [ "$hl" -le "$MEM" ] 2>/dev/null && pass runtimes/node/heap-within-session ||
		fail runtimes/node/heap-within-session "$(cat "$probe/node")"
fi

wait_for no_procs_of "$u"
[ "$(sessions_left)" = 0 ] && pass runtimes/nothing-left || fail runtimes/nothing-left "$(sessions_left) sessions"
