# shellcheck shell=bash
# ssh login time in a VM guest with and without pam_nscg, in the same
# run: `ssh tester@guest true`, alternating between the guest's sshd
# (pam_nscg in its stack) and sshd-plain (the same stack without it),
# BENCH_LOGINS times each. Sourced by tests/vm/run.sh, which sets SSHO.
# Prints the medians side by side; asserts only that the logins worked.

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# time_pair N PORT-A USER-A PORT-B USER-B: `ssh USER@guest true`, N times
# each, alternating A and B; the medians in $med_a and $med_b (ms), the
# failed logins in $bad.
time_pair() {
	local n=$1 i k t0 t1
	local -a who=("$2 $3" "$4 $5") ta=() tb=()
	bad=0
	for ((i = 0; i < n; i++)); do
		for k in 0 1; do
			set -- ${who[k]}
			t0=$(date +%s%N)
			timeout 60 ssh "${SSHO[@]}" -p "$1" "$2@127.0.0.1" true || bad=$((bad + 1))
			t1=$(date +%s%N)
			if [ "$k" = 0 ]; then ta+=($(((t1 - t0) / 1000000))); else tb+=($(((t1 - t0) / 1000000))); fi
		done
	done
	med_a=$(printf '%s\n' "${ta[@]}" | median)
	med_b=$(printf '%s\n' "${tb[@]}" | median)
}

# bench_logins NAME PORT PLAIN-PORT
bench_logins() {
	local g=$1 port=$2 plain=$3 n=${BENCH_LOGINS:-30} bad med_a med_b
	# Each sshd must be the one it claims: only the first sandboxes.
	timeout 60 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 'grep -qx "0::/" /proc/self/cgroup' &&
		! timeout 60 ssh "${SSHO[@]}" -p "$plain" tester@127.0.0.1 'grep -qx "0::/" /proc/self/cgroup' &&
		pass "vm/$g/bench-stacks" || { fail "vm/$g/bench-stacks" "sshd-plain sandboxes, or sshd does not"; return; }
	time_pair "$n" "$port" tester "$plain" tester
	[ "$bad" = 0 ] && pass "vm/$g/bench-logins" || fail "vm/$g/bench-logins" "$bad of $((2 * n)) logins failed"
	local mw=$med_a mo=$med_b
	printf '# bench %-8s ssh login, median of %d: %5d ms with pam_nscg, %5d ms without: +%d ms, ratio %s\n' \
		"$g" "$n" "$mw" "$mo" $((mw - mo)) "$(awk -v a="$mw" -v b="$mo" 'BEGIN {printf "%.2f", a / b}')"
}

# bench_isolation NAME PORT: what hide_processes and delegate add to an
# ssh login in a pure-v2 guest, in the same run: `ssh USER@guest true`,
# alternating between tester (the guest's policy) and other (the same,
# with hide_processes = yes and delegate = yes), BENCH_LOGINS times each.
bench_isolation() {
	local g=$1 port=$2 n=${BENCH_LOGINS:-30} bad med_a med_b
	local conf=/etc/security/nscg.d/85-bench.conf
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	"${R[@]}" "printf '[user:other]\\nhide_processes = yes\\ndelegate = yes\\n' >$conf; chmod 0644 $conf"
	timeout 60 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1 'grep -qx "0::/login" /proc/self/cgroup && ! test -e /proc/1' &&
		pass "vm/$g/bench-isolation-stack" || { fail "vm/$g/bench-isolation-stack" "other's login is not hidden and delegated"; "${R[@]}" "rm -f $conf"; return; }
	time_pair "$n" "$port" tester "$port" other
	"${R[@]}" "rm -f $conf"
	[ "$bad" = 0 ] && pass "vm/$g/bench-isolation-logins" || fail "vm/$g/bench-isolation-logins" "$bad of $((2 * n)) logins failed"
	local mp=$med_a mi=$med_b
	printf '# bench %-8s ssh login, median of %d: %5d ms with hide_processes and delegate, %5d ms without: +%d ms, ratio %s\n' \
		"$g" "$n" "$mi" "$mp" $((mi - mp)) "$(awk -v a="$mi" -v b="$mp" 'BEGIN {printf "%.2f", a / b}')"
}
