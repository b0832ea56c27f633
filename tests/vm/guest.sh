# shellcheck shell=bash
# Sourced by the scripts that run as the test user inside a guest session
# (inside.sh, delegate.sh, podman.sh): their PASS:/FAIL: lines, and waits.
# $prefix: the start of each check's name.

# ok NAME CHECK: the check may set $detail, shown when it fails.
ok() {
	detail=
	if eval "$2"; then echo "PASS: $prefix/$1"; else echo "FAIL: $prefix/$1${detail:+: $detail}"; fi
}
# wait_until COND: until COND holds, 120 s at most (TCG is slow; a wait
# that is met ends at once); its last status.
wait_until() {
	local end=$((SECONDS + 120))
	until eval "$1"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}
