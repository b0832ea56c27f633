#!/bin/bash
# What an ssh login pays on this host with pam_nscg, measured as a user
# would: the wall time of
#
#   ssh -i KEY -o BatchMode=yes ... USER@127.0.0.1 true
#
# against two sshd on 127.0.0.1 started from the same sshd_config (the
# fixture of tests/lib.sh, start_sshd: key auth for a test user, UsePAM
# yes), each under its own PAM service name:
#   nscg-bench-base-PID   auth, account and session: pam_permit only
#   nscg-bench-nscg-PID   the same, with pam_nscg (the policy below)
#                         before pam_permit in the session stack
# Each of the N rounds logs in once to each, in a new random order. As
# root. Prints the medians and p90 side by side, the difference and the
# overhead ((with - without) / without); asserts nothing about speed.
#
#   bench/run-ssh.sh [N]    (N = 100 logins each)
#
# Before the rounds, one login to each, held open, must show that the
# pam_nscg sshd sandboxes and the other does not (the script fails
# otherwise): inside, every /proc/self/cgroup line a namespace root and
# a cgroup namespace of its own; seen from the host, the same process in
# PARENT/user-UID/session-ID with the policy's memory and pids limits.
#
# After each login the script waits, outside the timing, until that
# connection's sshd has exited (its close_session done) before the next
# login, so that no login shares the CPUs with the previous one's close.
# That wait is reported too ("server done": from the start of ssh until
# the connection's sshd is gone), at 1 ms resolution.
set -eu
export LC_ALL=C
n=${1:-100}
case $n in '' | *[!0-9]*) echo "usage: run-ssh.sh [LOGINS]" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "run-ssh: at least one login" >&2; exit 2; }
policy='session.memory.max = 1G
session.pids.max = 512
user.cpu.max = 200%'
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/common.sh"
[ -x /usr/sbin/sshd ] || { echo "run-ssh: no /usr/sbin/sshd (openssh-server)" >&2; exit 1; }
for b in pam_nscg.so nscg-helper; do
	[ -e "$build/$b" ] || { echo "run-ssh: no $build/$b (make all)" >&2; exit 1; }
done
die() { echo "run-ssh: FAIL: $*" >&2; exit 1; }

# /run/nscg is the module's; when this run makes it, what the sweep
# leaves there goes too, once nothing else is in it.
run_nscg_pre=
[ -e /run/nscg ] && run_nscg_pre=1
run_nscg_cleanup() {
	local f
	[ -n "$run_nscg_pre" ] && return 0
	for f in /run/nscg/* /run/nscg/.[!.]*; do
		case $f in /run/nscg/sweep.lock | /run/nscg/sweep.stamp) ;; *) [ -e "$f" ] && return 0 ;; esac
	done
	rm -f /run/nscg/sweep.lock /run/nscg/sweep.stamp
	rmdir /run/nscg 2>/dev/null || true
}
bench_fixture ssh "$policy"
# One exit trap: tests/lib.sh's, which runs its cleanups last first.
on_exit run_nscg_cleanup
on_exit bench_cleanup
trap _run_cleanups EXIT
uid=$(id -u "$u")
base=nscg-bench-base-$$ svc=nscg-bench-nscg-$$
printf 'auth     required pam_permit.so\naccount  required pam_permit.so\nsession  required pam_permit.so\n' \
	>/etc/pam.d/$base
printf 'auth     required pam_permit.so\naccount  required pam_permit.so\nsession  required %s/pam_nscg.so conf=%s/nscg.conf\nsession  required pam_permit.so\n' \
	"$build" "$d" >/etc/pam.d/$svc

# The sshds, their connections and the probes' clients, before the
# fixture removes the user, its cgroups and $d. Runs first.
ssh_cleanup() {
	local p kids=() more t
	set +e
	[ -n "${probe_pid:-}" ] && kill -KILL "$probe_pid" 2>/dev/null
	for p in $(cat "$d/sshd.pid" "$d/sshd-base.pid" 2>/dev/null); do
		more=()
		read -ra more <"/proc/$p/task/$p/children" 2>/dev/null
		kids+=("${more[@]}")
		kill "$p" 2>/dev/null
	done
	# The user's processes gone, each connection's sshd closes its
	# session and exits; SIGKILL after 10 s.
	pkill -KILL -u "$u" 2>/dev/null
	for t in $(seq 100); do
		kill -0 "${kids[@]}" 2>/dev/null || break
		sleep 0.1
	done
	[ ${#kids[@]} -gt 0 ] && kill -KILL "${kids[@]}" 2>/dev/null
	wait 2>/dev/null
	return 0
}

# The pam_nscg sshd through the shared fixture (config, keys, port)...
start_sshd "" || die "sshd (pam_nscg) did not start: $(cat "$d/sshd.log" 2>/dev/null)"
on_exit ssh_cleanup
# shellcheck disable=SC2034 # read through a nameref (ssh_$NAME)
ssh_nscg=("${SSH[@]}")
# ...and the pam_permit one from the same sshd_config: only its name (the
# PAM service), its port and its pid file differ. Its port is outside
# start_sshd's range (20000-39999).
port_base=$((40000 + $$ % 20000))
ln -s /usr/sbin/sshd "$d/$base"
"$d/$base" -f "$d/sshd_config" -E "$d/sshd-base.log" -p "$port_base" -o PidFile="$d/sshd-base.pid"
for _ in $(seq 50); do [ -s "$d/sshd-base.pid" ] && break; sleep 0.1; done
[ -s "$d/sshd-base.pid" ] || die "sshd (pam_permit) did not start: $(cat "$d/sshd-base.log" 2>/dev/null)"
ssh_base=()
for a in "${SSH[@]}"; do
	[ "$a" = "$port" ] && [ "${ssh_base[-1]}" = -p ] && a=$port_base
	ssh_base+=("$a")
done
declare -A listener=([nscg]=$(cat "$d/sshd.pid") [base]=$(cat "$d/sshd-base.pid"))

# A sleep without a fork: a read that times out on a fifo nobody writes.
mkfifo "$d/tick"
exec {tick}<>"$d/tick"
# Until the listener of $1 has no connection left, at most 60 s.
idle() {
	local p=${listener[$1]} c t
	for ((t = 0; t < 60000; t++)); do
		c=
		read -r c <"/proc/$p/task/$p/children" || true
		[ -z "$c" ] && return 0
		read -r -t 0.001 -u "$tick" _ || true
	done
	die "$1: a connection of sshd $p still open after 60 s: $c"
}

# The session's path in hierarchy $2 (memory, pids, or "" for the
# unified one) as the host sees it.
host_path() { awk -F: -v c="$2" '$2 == c { print $3 }' "$d/host.$1"; }
# The precondition: log in to $1 and hold the session open; what it
# sees of its cgroups into $d/probe.$1; what the host sees of the same
# process into $d/host.$1, with its cgroups' memory and pids limits.
probe() {
	local -n cmd=ssh_$1
	local t rc w pid mem pids
	mkfifo "$d/probe.in"
	timeout 60 "${cmd[@]}" 'echo "pid=$$"; cat /proc/self/cgroup; echo "ns=$(readlink /proc/self/ns/cgroup)"; read _; exit 0' \
		<"$d/probe.in" >"$d/probe.$1" 2>"$d/probe.$1.err" &
	probe_pid=$!
	exec {w}>"$d/probe.in"
	for ((t = 0; t < 600; t++)); do
		grep -q '^ns=' "$d/probe.$1" && break
		kill -0 "$probe_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ns=' "$d/probe.$1" ||
		die "$1: the probe login failed: $(cat "$d/probe.$1" "$d/probe.$1.err") $(tail -5 "$d"/sshd*.log)"
	pid=$(sed -n 's/^pid=//p' "$d/probe.$1")
	cat "/proc/$pid/cgroup" >"$d/host.$1" || die "$1: no /proc/$pid/cgroup on the host"
	if [ -d /sys/fs/cgroup/memory ]; then # v1 and hybrid
		mem=/sys/fs/cgroup/memory$(host_path "$1" memory)/memory.limit_in_bytes
		pids=/sys/fs/cgroup/pids$(host_path "$1" pids)/pids.max
	else
		mem=/sys/fs/cgroup$(host_path "$1" "")/memory.max
		pids=/sys/fs/cgroup$(host_path "$1" "")/pids.max
	fi
	echo "memory $(cat "$mem" 2>/dev/null) pids $(cat "$pids" 2>/dev/null)" >"$d/limits.$1"
	exec {w}>&-
	rc=0
	wait "$probe_pid" || rc=$?
	probe_pid=
	rm -f "$d/probe.in"
	[ "$rc" = 0 ] || die "$1: the probe login exited $rc: $(cat "$d/probe.$1.err")"
	idle "$1"
}
probe nscg
probe base
host_ns=$(readlink /proc/self/ns/cgroup)
ns() { sed -n 's/^ns=//p' "$d/probe.$1"; }
in_session="^/$parent/user-$uid/session-[^/]+\$"

# pam_nscg: inside, every cgroup a namespace root, in a namespace of its
# own; from the host, the session's cgroup (unified and memory) and its
# limits.
inside=$(grep -E '^[0-9]+:' "$d/probe.nscg") || true
[ -n "$inside" ] && ! grep -qv ':/$' <<<"$inside" ||
	die "pam_nscg: not every cgroup a namespace root inside: $(cat "$d/probe.nscg")"
[ "$(ns nscg)" != "$host_ns" ] || die "pam_nscg: the session is in the host's cgroup namespace $host_ns"
# (The unified line is missing on a pure v1 host, memory on a v2 one.)
checked=0
for c in "" memory; do
	p=$(host_path nscg "$c")
	[ -n "$p" ] || continue
	grep -Eq "$in_session" <<<"$p" ||
		die "pam_nscg: the host sees the session's ${c:-unified} cgroup outside $parent/user-$uid: $(cat "$d/host.nscg")"
	checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || die "pam_nscg: no unified or memory line in the host's view: $(cat "$d/host.nscg")"
[ "$(cat "$d/limits.nscg")" = "memory 1073741824 pids 512" ] ||
	die "pam_nscg: the session's limits are not the policy's (1G, 512 tasks): $(cat "$d/limits.nscg")"
# pam_permit: the host's cgroup namespace, nothing of our parent.
[ "$(ns base)" = "$host_ns" ] ||
	die "pam_permit: the session has a cgroup namespace of its own: $(ns base), the host's $host_ns"
! grep -q "/$parent/" "$d/host.base" ||
	die "pam_permit: the session is in our parent: $(cat "$d/host.base")"
echo "sandboxed: pam_nscg's login in $(host_path nscg "$([ -d /sys/fs/cgroup/memory ] && echo memory)") ($(cat "$d/limits.nscg")), cgroup namespace $(ns nscg);" \
	"pam_permit's in the host's, $host_ns"

# The rounds. Each login appends "WALL SERVER-DONE" in microseconds to
# $d/t.NAME.
load0=$(cut -d' ' -f1-3 /proc/loadavg)
login() { # NAME ROUND
	local -n cmd=ssh_$1
	local t0 t1 t2
	t0=$EPOCHREALTIME
	"${cmd[@]}" true >/dev/null 2>"$d/err" ||
		die "$1: login $2 failed: $(cat "$d/err") $(tail -5 "$d"/sshd*.log)"
	t1=$EPOCHREALTIME
	idle "$1"
	t2=$EPOCHREALTIME
	echo "$((${t1/./} - ${t0/./})) $((${t2/./} - ${t0/./}))" >>"$d/t.$1"
}
for ((r = 1; r <= n; r++)); do
	for k in $(shuf -e base nscg); do login "$k" "$r"; done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# quantile NAME COLUMN median|p90: nearest rank, in microseconds.
quantile() {
	awk -v c="$2" '{ print $c }' "$d/t.$1" | sort -n |
		awk -v q="$3" '{ v[NR] = $1 } END {
			r = (q == "median") ? int((NR + 1) / 2) : int(0.9 * NR + 0.999999)
			print v[r] }'
}
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1000 }'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", (a - b) / 1000 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'; }
declare -A s
for k in base nscg; do
	for q in median p90; do
		s[$k.wall.$q]=$(quantile "$k" 1 "$q")
		s[$k.done.$q]=$(quantile "$k" 2 "$q")
	done
done
echo "ssh USER@127.0.0.1 true: $n logins to each sshd, in a new random order each round, ms"
echo "(ssh: its wall time, as the user waits; server done: until the connection's"
echo "sshd has exited, its close_session included)"
printf '%-24s %9s %9s %13s %13s\n' "" "ssh" "ssh" "server done" "server done"
printf '%-24s %9s %9s %13s %13s\n' "session stack" median p90 median p90
row() { # LABEL FUNCTION NAME: per column, FUNCTION of NAME's figure and base's
	local f=$2
	printf '%-24s %9s %9s %13s %13s\n' "$1" \
		"$($f "${s[$3.wall.median]}" "${s[base.wall.median]}")" "$($f "${s[$3.wall.p90]}" "${s[base.wall.p90]}")" \
		"$($f "${s[$3.done.median]}" "${s[base.done.median]}")" "$($f "${s[$3.done.p90]}" "${s[base.done.p90]}")"
}
row "pam_permit only" ms base
row "pam_nscg + pam_permit" ms nscg
row "difference" diff_ms nscg
row "overhead" pct nscg
echo "load average $load0 before, $load1 after ($(nproc) CPUs)"
