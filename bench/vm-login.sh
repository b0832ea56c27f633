# shellcheck shell=bash
# ssh login time in a VM guest with and without pam_nscg, in the same
# run: `ssh tester@guest true`, alternating between the guest's sshd
# (pam_nscg in its stack) and sshd-plain (the same stack without it),
# BENCH_LOGINS times each. Sourced by tests/vm/run.sh, which sets SSHO.
# Prints the medians side by side; asserts only that the logins worked.

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

# bench_logins NAME PORT PLAIN-PORT
bench_logins() {
	local g=$1 port=$2 plain=$3 n=${BENCH_LOGINS:-30} i p t0 t1 bad=0
	local -a with=() without=()
	# Each sshd must be the one it claims: only the first sandboxes.
	timeout 60 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 'grep -qx "0::/" /proc/self/cgroup' &&
		! timeout 60 ssh "${SSHO[@]}" -p "$plain" tester@127.0.0.1 'grep -qx "0::/" /proc/self/cgroup' &&
		pass "vm/$g/bench-stacks" || { fail "vm/$g/bench-stacks" "sshd-plain sandboxes, or sshd does not"; return; }
	for ((i = 0; i < n; i++)); do
		for p in "$port" "$plain"; do
			t0=$(date +%s%N)
			timeout 60 ssh "${SSHO[@]}" -p "$p" tester@127.0.0.1 true || bad=$((bad + 1))
			t1=$(date +%s%N)
			if [ "$p" = "$port" ]; then with+=($(((t1 - t0) / 1000000))); else without+=($(((t1 - t0) / 1000000))); fi
		done
	done
	[ "$bad" = 0 ] && pass "vm/$g/bench-logins" || fail "vm/$g/bench-logins" "$bad of $((2 * n)) logins failed"
	local mw mo
	mw=$(printf '%s\n' "${with[@]}" | median)
	mo=$(printf '%s\n' "${without[@]}" | median)
	printf '# bench %-8s ssh login, median of %d: %5d ms with pam_nscg, %5d ms without: +%d ms, ratio %s\n' \
		"$g" "$n" "$mw" "$mo" $((mw - mo)) "$(awk -v a="$mw" -v b="$mo" 'BEGIN {printf "%.2f", a / b}')"
}
