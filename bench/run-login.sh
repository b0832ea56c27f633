#!/bin/bash
# What a login pays, measured as a new user would: one fresh process per
# session, as login, su and pamtester are; beside pam_permit, LXC's
# pam_cgfs and the kernel's own cost of pam_nscg's steps on this host,
# all in the same run. As root. Prints figures; asserts nothing.
#
#   bench/run-login.sh [N] [Q]    (N = 200 rounds, Q = 20 spaced rounds)
#
# The PAM stacks, each a service /etc/pam.d/nscg-bench-*-PID:
#   pam_permit            pam_permit only
#   pam_nscg              pam_nscg (the policy below), then pam_permit
#   pam_nscg, exempt      the same stack, for a user with enabled = no
#   pam_nscg, hidden      the same stack, for a user with hide_processes =
#                         yes (one more mount: a procfs of the session's own)
#   pam_cgfs              pam_cgfs -c freezer,memory,pids (no limits, no
#                         namespaces), then pam_permit
# Each of the N rounds runs, in a new random order, once each:
#   pamtester SERVICE USER open_session close_session   per stack: its
#       wall time, the issue's figure
#   session-runner --time SERVICE USER true   per stack: pam_start (it
#       loads the modules), pam_open_session, pam_close_session and
#       pam_end timed inside, and its wall time (start, open, fork+exec
#       of true as the user, close, end: as login)
#   bench-floor PARENT    the kernel's cost of the same steps, phase by
#                         phase (bench/bench-floor.c), and its wall time
#   bench-floor --true    fork+exec of /bin/true
# The random order gives every item the same mix of predecessors: on v1
# the first cgroup move after a quiet spell waits for an RCU grace
# period (several ms here), a move soon after another does not. The Q
# spaced rounds then run pamtester (pam_permit, pam_nscg, pam_cgfs) and
# bench-floor each after 0.25 s without a login: what a lone login pays.
#
# pam_cgfs sets the root cpuset's cgroup.clone_children to 1 at login;
# the rounds run in a mount namespace of their own where that file is a
# copy, so the machine's stays as it is. pam_cgfs makes
# user/USER/N below the root of freezer, memory and pids (removed at exit
# with their "user" parent, when this run made it).
set -eu
export LC_ALL=C
. "$(dirname "$0")/common.sh"
n=${1:-200} q=${2:-20}
case $n$q in *[!0-9]*) echo "usage: run-login.sh [ROUNDS] [SPACED-ROUNDS]" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "run-login: at least one round" >&2; exit 2; }
policy='session.memory.max = 1G
session.pids.max = 512
user.cpu.max = 200%'
command -v pamtester >/dev/null || { echo "run-login: no pamtester (tests/deps.sh)" >&2; exit 1; }
cgfs=$(dpkg -L libpam-cgfs 2>/dev/null | grep '/pam_cgfs\.so$' | head -n 1) || true
[ -n "$cgfs" ] || { echo "run-login: no pam_cgfs.so (libpam-cgfs, tests/deps.sh)" >&2; exit 1; }
for b in session-runner bench-floor pam_nscg.so nscg-helper; do
	[ -e "$build/$b" ] || { echo "run-login: no $build/$b (make bench)" >&2; exit 1; }
done

bench_fixture login "$policy"
ue=nscgt-e$$ uh=nscgt-h$$ fparent=nscg-floor-$$ cgfs_pre= inner=
for h in /sys/fs/cgroup/*/; do [ -d "${h}user" ] && cgfs_pre+=" ${h}user"; done
# rmdir the trees, deepest first, giving killed processes 2 s to leave.
rmtrees() {
	local t h left
	for t in $(seq 20); do
		left=
		for h in "$@"; do
			[ -d "$h" ] || continue
			find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || left=1
		done
		[ -z "$left" ] && return
		sleep 0.1
	done
}
login_cleanup() {
	local h
	set +e
	# The rounds first (their own process group), then what they left.
	[ -n "$inner" ] && kill -KILL -- "-$inner" 2>/dev/null && wait "$inner" 2>/dev/null
	pkill -KILL -u "$ue" 2>/dev/null
	pkill -KILL -u "$uh" 2>/dev/null
	pkill -KILL -u "$u" 2>/dev/null
	"$build/bench-floor" --remove "$fparent" 2>/dev/null
	# What they left: bench-floor's and pam_nscg's trees, pam_cgfs's
	# user/USER/N, and user/ itself where this run made it.
	rmtrees /sys/fs/cgroup/*/"$fparent" /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/*/user/"$u"
	for h in /sys/fs/cgroup/*/user; do
		case " $cgfs_pre " in *" $h "*) ;; *) rmdir "$h" 2>/dev/null ;; esac
	done
	userdel "$ue" 2>/dev/null
	local huid
	if huid=$(id -u "$uh" 2>/dev/null); then
		rm -f "/run/nscg/uid-$huid.lock" "/run/nscg/uid-$huid.swept" /run/nscg/sessions/uid-"$huid".*
		userdel "$uh" 2>/dev/null
	fi
	bench_cleanup
}
trap login_cleanup EXIT
useradd -M -N -s /bin/sh "$ue"
useradd -M -N -s /bin/sh "$uh"
printf '[user:%s]\nenabled = no\n[user:%s]\nhide_processes = yes\n' "$ue" "$uh" >>"$d/nscg.conf"
bench_services
printf 'session required %s -c freezer,memory,pids\nsession required pam_permit.so\n' \
	"$cgfs" >/etc/pam.d/nscg-bench-cgfs-$$
"$build/bench-floor" --setup "$fparent"

# The rounds, in their own mount namespace (see above). Each item appends
# one line of microseconds to $d/ITEM.
rounds() {
	set -eu
	local cc=/sys/fs/cgroup/cpuset/cgroup.clone_children
	if [ -e "$cc" ]; then
		cat "$cc" >"$d/clone_children"
		mount --bind "$d/clone_children" "$cc"
	fi
	local -A svc=([base]=nscg-bench-base-$pid [nscg]=nscg-bench-nscg-$pid
		      [exempt]=nscg-bench-nscg-$pid [hidden]=nscg-bench-nscg-$pid
		      [cgfs]=nscg-bench-cgfs-$pid)
	local -A usr=([base]=$u [nscg]=$u [exempt]=$ue [hidden]=$uh [cgfs]=$u)
	local items=() s i t0 t1 line
	# A missing service would be PAM's "other", the machine's own stack.
	for s in "${svc[@]}"; do
		[ -f "/etc/pam.d/$s" ] || { echo "run-login: no /etc/pam.d/$s" >&2; return 1; }
	done
	for s in base nscg exempt hidden cgfs; do items+=("pam.$s" "run.$s"); done
	items+=(floor true)
	# One item; its wall time from bash's clock, no fork around it.
	item() { # ITEM [PREFIX]
		local k=${1#*.} p=${2:-} out=() o
		case $1 in
		pam.*)
			t0=$EPOCHREALTIME
			pamtester "${svc[$k]}" "${usr[$k]}" open_session close_session \
				>/dev/null 2>"$d/err" || { cat "$d/err" >&2; return 1; }
			t1=$EPOCHREALTIME
			echo $((${t1/./} - ${t0/./})) >>"$d/$p$1" ;;
		run.*)
			t0=$EPOCHREALTIME
			"$build/session-runner" --time "${svc[$k]}" "${usr[$k]}" true \
				>/dev/null 2>"$d/err" || { cat "$d/err" >&2; return 1; }
			t1=$EPOCHREALTIME
			# wall start open close end
			mapfile -t out <"$d/err"
			local -A r=()
			for o in "${out[@]}"; do
				case $o in *_us=*) r[${o%%_us=*}]=${o#*_us=} ;; esac
			done
			echo "$((${t1/./} - ${t0/./})) ${r[start]} ${r[open]} ${r[close]} ${r[end]}" >>"$d/$p$1" ;;
		floor)
			t0=$EPOCHREALTIME
			"$build/bench-floor" "$fparent" >"$d/out"
			t1=$EPOCHREALTIME
			read -r line <"$d/out"
			# wall open close total find mkdir attach ns used mounted
			local -A f=()
			for o in $line; do f[${o%%=*}]=${o#*=}; done
			echo "$((${t1/./} - ${t0/./}))" \
				"$((f[find_us] + f[mkdir_us] + f[attach_us] + f[ns_us]))" \
				"${f[close_us]} ${f[total_us]} ${f[find_us]} ${f[mkdir_us]}" \
				"${f[attach_us]} ${f[ns_us]} ${f[used]} ${f[mounted]}" >>"$d/$p$1" ;;
		true)
			t0=$EPOCHREALTIME
			"$build/bench-floor" --true >"$d/out"
			t1=$EPOCHREALTIME
			read -r line <"$d/out"
			echo "${line#true_us=} $((${t1/./} - ${t0/./}))" >>"$d/$p$1" ;;
		esac
	}
	for _ in $(seq "$n"); do
		for i in $(shuf -e "${items[@]}"); do item "$i"; done
	done
	for _ in $(seq "$q"); do
		for i in $(shuf -e pam.base pam.nscg pam.cgfs floor); do
			sleep 0.25
			item "$i" q.
		done
	done
}
export -f rounds
pid=$$
export d u ue uh build fparent n q pid
# In a process group of their own, which the cleanup can stop.
setsid unshare -m --propagation private bash -c rounds &
inner=$!
wait "$inner"
inner=

# The median of column C (1-based) of file F, in ms.
med() {
	awk -v c="${2:-1}" '{ print $c }' "$d/$1" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1000 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
declare -A name=([base]="pam_permit only" [nscg]="pam_nscg + pam_permit"
		 [exempt]="pam_nscg, exempt user" [hidden]="pam_nscg, hide_processes"
		 [cgfs]="pam_cgfs + pam_permit")
read -r _ _ _ _ _ _ _ _ used mounted <"$d/floor"

echo "What a login pays: one fresh process per session, $n rounds in random order,"
echo "medians in ms. pamtester: its wall time; start (loads the modules), open,"
echo "close, end: pam_start, pam_open_session, pam_close_session, pam_end inside"
echo "session-runner; runner: its wall time, as login; x: pamtester against pam_permit's"
printf '%-24s %9s %7s %7s %7s %7s %7s %7s\n' stack pamtester start open close end runner x
for s in base nscg exempt hidden cgfs; do
	printf '%-24s %9s %7s %7s %7s %7s %7s %7s\n' "${name[$s]}" "$(med pam.$s)" \
		"$(med run.$s 2)" "$(med run.$s 3)" "$(med run.$s 4)" "$(med run.$s 5)" \
		"$(med run.$s)" "$(ratio "$(med pam.$s)" "$(med pam.base)")"
done
echo
echo "The kernel's own cost of pam_nscg's steps on this host (bench-floor: cgroups"
echo "in $used hierarchies, $mounted mounted in the session's view), medians in ms"
printf '  %-58s %7s\n' "find: mountinfo, /proc/self/cgroup, open the hierarchies" "$(med floor 5)"
printf '  %-58s %7s\n' "mkdir user and session cgroups + limits" "$(med floor 6)"
printf '  %-58s %7s\n' "attach: our pid into each session cgroup" "$(med floor 7)"
printf '  %-58s %7s\n' "fork+exec helper, unshare, mounts, setns, reap" "$(med floor 8)"
printf '  %-58s %7s\n' "open, all of the above" "$(med floor 2)"
printf '  %-58s %7s\n' "close: setns back, attach back, rmdir" "$(med floor 3)"
printf '  %-58s %7s\n' "total (in the process)" "$(med floor 4)"
printf '  %-58s %7s\n' "bench-floor's wall time, timed as pamtester is" "$(med floor 1)"
printf '  %-58s %7s\n' "fork+exec of /bin/true, in the process" "$(med true 1)"
printf '  %-58s %7s\n' "bench-floor --true's wall time" "$(med true 2)"
echo
echo "pam_nscg against pam_permit + the kernel's floor (medians, ms)"
printf '  %-7s %9s %11s %8s %8s\n' "" pam_nscg pam_permit floor ratio
printf '  %-7s %9s %11s %8s %8s\n' total "$(med pam.nscg)" "$(med pam.base)" "$(med floor 4)" \
	"$(ratio "$(med pam.nscg)" "$(sum "$(med pam.base)" "$(med floor 4)")")"
printf '  %-7s %9s %11s %8s %8s\n' open "$(med run.nscg 3)" "$(med run.base 3)" "$(med floor 2)" \
	"$(ratio "$(med run.nscg 3)" "$(sum "$(med run.base 3)" "$(med floor 2)")")"
printf '  %-7s %9s %11s %8s %8s\n' close "$(med run.nscg 4)" "$(med run.base 4)" "$(med floor 3)" \
	"$(ratio "$(med run.nscg 4)" "$(sum "$(med run.base 4)" "$(med floor 3)")")"
if [ "$q" -gt 0 ]; then
	echo
	echo "A lone login: each after 0.25 s without one, $q rounds, medians in ms"
	printf '  %-30s %8s\n' "pam_permit only (pamtester)" "$(med q.pam.base)"
	printf '  %-30s %8s  (%s pam_permit + floor)\n' "pam_nscg + pam_permit" "$(med q.pam.nscg)" \
		"$(ratio "$(med q.pam.nscg)" "$(sum "$(med q.pam.base)" "$(med q.floor 4)")")"
	printf '  %-30s %8s\n' "pam_cgfs + pam_permit" "$(med q.pam.cgfs)"
	printf '  %-30s %8s  (attach %s)\n' "kernel floor, in the process" "$(med q.floor 4)" \
		"$(med q.floor 7)"
fi
