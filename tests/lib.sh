# Shared helpers for the shell test tiers: PASS:/FAIL: lines, cleanup.
# shellcheck shell=bash
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
_cleanups=()
on_exit() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
}
trap _run_cleanups EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; }

# expect NAME WANT_RC CMD... : run CMD, keep stdout/stderr in $OUT/$ERR.
expect() {
	local name=$1 want=$2 rc
	shift 2
	OUT=$("$@" 2>"$_errf")
	rc=$?
	ERR=$(cat "$_errf")
	if [ "$rc" -eq "$want" ]; then
		pass "$name"
		return 0
	fi
	fail "$name" "exit $rc, want $want; stderr: ${ERR:0:400}"
	return 1
}
_errf=$(mktemp /tmp/nscg-err-XXXXXX)
on_exit 'rm -f "$_errf"'

# contains NAME HAYSTACK NEEDLE
contains() {
	if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "no '$3' in: ${2:0:600}"; fi
}
lacks() {
	if grep -qF -- "$3" <<<"$2"; then fail "$1" "unexpected '$3' in: ${2:0:600}"; else pass "$1"; fi
}

# A private root-owned directory for policy files, in $CONFDIR. (Not
# $(make_confdir): cleanups registered in a subshell would be lost.)
make_confdir() {
	CONFDIR=$(mktemp -d /tmp/nscg-conf-XXXXXX)
	chmod 0755 "$CONFDIR"
	on_exit "rm -rf '$CONFDIR'"
}
