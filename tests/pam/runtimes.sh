#!/bin/bash
# The session's view is a container's (doc/design.md §4), tried by programs
# nobody here wrote, in real sessions through libpam
# (tests/pam/session-runner.c) with session.memory.max = 512M and
# session.cpu.max = 100%: tests/runtimes/probe.sh looks from inside
# (mountinfo, the JVM, nproc, make, Node.js) and tests/runtimes/check.sh
# judges (the VM tier's guests use the same two); again with
# hide_processes and cgroup2 mounts elsewhere on the host (stacked, and
# under /dev/shm). Then OMP_NUM_THREADS
# as the PAM environment has it: an earlier module's value wins, and
# export_cpus = no sets none. A runtime this host lacks is a SKIP.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/runtimes/check.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: runtimes (needs root)"; exit 77; }
RUN=$BUILD/session-runner

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

# --- The session as runtimes see it (tests/runtimes/check.sh) ---
if command -v javac >/dev/null; then
	mkdir -p "$BUILD/runtimes"
	javac -d "$BUILD/runtimes" "$TOP/tests/runtimes/Limits.java" &&
		pass runtimes/jvm-probe-built || fail runtimes/jvm-probe-built
	install -m 0644 "$BUILD/runtimes/Limits.class" "$probe/"
fi
install -m 0755 "$TOP/tests/runtimes/probe.sh" "$probe/probe.sh"
if [ "$host_cpus" -lt 2 ]; then
	skip runtimes/session "this host has one CPU: no CPU budget is below it, and nproc prints 1 anyway"
else
	expect runtimes/session/login 0 "$RUN" "$svc" "$u" sh -c "$probe/probe.sh $probe $probe >$probe/out 2>&1"
	check_runtimes runtimes/session "$(cat "$probe/out")" "$(runtime_view)"
	# The same with a /proc of the session's own, on a host that has
	# cgroup filesystems mounted elsewhere too, all detached in the
	# session: two stacked on one directory, and one under /dev/shm, which
	# the session's private /dev/shm would cover if it came first.
	policy "hide_processes = yes"
	mkdir "$probe/cg2"
	shm=/dev/shm/nscg-test-$$
	mkdir "$shm"
	on_exit "umount '$probe/cg2' '$probe/cg2' '$shm' 2>/dev/null; rmdir '$shm'"
	# (The kernel refuses a superblock's second mount on the same
	# directory: the second is a bind mount of the first.)
	if mount -t cgroup2 cgroup2 "$probe/cg2" && mount --bind "$probe/cg2" "$probe/cg2" &&
		mount -t cgroup2 cgroup2 "$shm"; then
		expect runtimes/hidden-proc/login 0 "$RUN" "$svc" "$u" sh -c "$probe/probe.sh $probe $probe >$probe/out 2>&1"
		check_runtimes runtimes/hidden-proc "$(cat "$probe/out")" "$(runtime_view)"
		umount "$probe/cg2" "$probe/cg2" "$shm"
	else
		skip runtimes/hidden-proc "cannot mount cgroup2 here"
	fi
	policy
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

wait_for no_procs_of "$u"
[ "$(sessions_left)" = 0 ] && pass runtimes/nothing-left || fail runtimes/nothing-left "$(sessions_left) sessions"
