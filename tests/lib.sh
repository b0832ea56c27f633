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

# The fixture of a session test, as root: a policy directory ($d, with a
# root-owned copy of the helper), a PAM service name ($svc), a cgroup
# parent ($parent), a test user ($u, $uid) and pam_syslog's lines in
# $syslog (caught on /dev/log when no syslog daemon holds it). All of it
# is removed at exit. PREFIX names the test user.
session_fixture() {
	make_confdir
	d=$CONFDIR
	svc=nscg-test-$$ parent=nscg-test-$$ u=$1$$
	useradd -M -N -s /bin/sh "$u" || { fail "$1/setup" useradd; exit 1; }
	uid=$(id -u "$u")
	on_exit "userdel '$u' 2>/dev/null"
	on_exit "rm -f /etc/pam.d/$svc"
	on_exit remove_parent
	syslog=$d/syslog
	if [ ! -e /dev/log ]; then
		python3 "$TOP/tests/syslog-capture.py" "$syslog" "$d/stop" 600 &
		on_exit "touch '$d/stop'; wait"
		for _ in $(seq 50); do [ -e "$syslog.ready" ] && break; sleep 0.1; done
	fi
	install -m 0755 "$BUILD/nscg-helper" "$d/nscg-helper"
}
# The fixture's PAM service as login would use it: pam_nscg, then
# pam_permit.
plain_service() {
	printf 'session  required %s/pam_nscg.so conf=%s/nscg.conf\nsession  required pam_permit.so\n' \
		"$BUILD" "$d" >/etc/pam.d/"$svc"
}
# The fixture's policy: our parent and helper, 256M and 64 tasks a
# session. write_policy EXTRA-GLOBAL-LINES EXTRA-DEFAULT-LINES
write_policy() {
	printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n%s\n[default]\nsession.memory.max = 256M\nsession.pids.max = 64\n%s\n' \
		"$parent" "$d" "$1" "${2:-}" >"$d/nscg.conf"
	chmod 0644 "$d/nscg.conf"
}
remove_parent() {
	local h
	for h in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# The module's per-uid lock file and session records, its sweep's
	# files, and the directory once empty.
	rm -f "/run/nscg/uid-$uid.lock" /run/nscg/sessions/uid-"$uid".*
	rmdir /run/nscg/sessions 2>/dev/null
	rm -f /run/nscg/sweep.lock /run/nscg/sweep.stamp
	rmdir /run/nscg 2>/dev/null
	true
}
