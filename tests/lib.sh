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
# (A detail is kept on the FAIL line, which the runner shows: its own
# line breaks become " | ".)
fail() {
	local d=${2:-}
	d=${d//$'\r'/}
	echo "FAIL: $1${d:+: ${d//$'\n'/ | }}"
}
# skip NAME REASON: a check this host cannot run (a controller file, a
# kernel feature, a package it lacks). Counted apart, never as a pass.
skip() { echo "SKIP: $1 ($2)"; }

# The deadline of every wait for a condition, in seconds. Generous: a
# slow machine under load is still a machine this suite must pass on,
# and a wait that is met returns at once.
WAIT=${NSCG_TEST_WAIT:-60}
# wait_for [-t SECONDS] CMD...: until CMD succeeds, at most $WAIT
# seconds (or SECONDS); CMD's last status. Polled every 50 ms at first,
# then every 200 ms.
wait_for() {
	local limit=$WAIT n=0
	[ "$1" = -t ] && { limit=$2; shift 2; }
	local end=$((SECONDS + limit))
	until "$@"; do
		[ $SECONDS -lt $end ] || { "$@"; return; }
		if [ $((n += 1)) -lt 20 ]; then sleep 0.05; else sleep 0.2; fi
	done
}
# logged [-F] PATTERN: until the fixture's syslog capture has PATTERN.
# The module's lines reach the file through another process, a moment
# after the call that logged them has returned.
logged() {
	local opt=()
	[ "$1" = -F ] && { opt=(-F); shift; }
	wait_for grep -q "${opt[@]}" -- "$1" "$syslog"
}
# A process that runs, unlike a zombie waiting for PID 1 to reap it.
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
stopped() { ! running "$1"; }
# procs_of USER: how many of USER's processes run (zombies not counted).
procs_of() { ps -u "$1" -o stat= | grep -vc '^Z'; }
no_procs_of() { [ "$(procs_of "$1")" = 0 ]; }
# at_done USER: atd, run once (-s), has ended (it closes each job's PAM
# session first) and its queue holds nothing of USER's.
at_done() { ! pgrep -x atd >/dev/null && [ -z "$(atq | awk -v u="$1" '$NF == u')" ]; }

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
	# A /dev/log nobody listens on (left by a capture that was killed)
	# would swallow every line.
	if [ -S /dev/log ] && ! /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect("/dev/log")' 2>/dev/null; then
		rm -f /dev/log
	fi
	if [ ! -e /dev/log ]; then
		python3 "$TOP/tests/syslog-capture.py" "$syslog" "$d/stop" 600 &
		on_exit "touch '$d/stop'; wait"
		wait_for test -e "$syslog.ready"
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
# The fixture user's session cgroups, counted once whatever the
# hierarchies (a glob, no process per directory).
sessions_left() {
	local -A seen=()
	local p
	for p in /sys/fs/cgroup/*/"$parent"/user-"$uid"/session-*; do
		[ -d "$p" ] && seen[${p##*/}]=1
	done
	echo ${#seen[@]}
}
remove_parent() {
	local h
	for h in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# The module's per-uid lock file and session records, its sweep's
	# files, and the directory once empty.
	rm -f "/run/nscg/uid-$uid.lock" "/run/nscg/uid-$uid.swept" /run/nscg/sessions/uid-"$uid".*
	rmdir /run/nscg/sessions /run/nscg/tmp 2>/dev/null
	rm -f /run/nscg/sweep.lock /run/nscg/sweep.stamp
	rmdir /run/nscg /run/nscg-status 2>/dev/null
	true
}

# A real sshd on 127.0.0.1 for the fixture's user, logging in through the
# fixture's PAM service ($svc) with a key: start_sshd EXTRA-CONFIG-LINES.
# Sets $port and the client command line in SSH (an array).
start_sshd() {
	# sshd's privilege separation directory; ours only if it was missing.
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
		on_exit "rmdir /run/sshd"
	fi
	port=$((20000 + $$ % 20000))
	ln -s /usr/sbin/sshd "$d/$svc"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	mkdir -m 0755 "$d/keys"
	install -m 0644 "$d/user_key.pub" "$d/keys/$u"
	cat >"$d/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $port
HostKey $d/host_key
PidFile $d/sshd.pid
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $d/keys/%u
StrictModes no
PermitRootLogin no
AllowUsers $u
$1
EOC
	# A link under the service's name: OpenSSH uses it as the PAM service.
	"$d/$svc" -f "$d/sshd_config" -E "$d/sshd.log"
	on_exit "kill \$(cat '$d/sshd.pid' 2>/dev/null) 2>/dev/null"
	wait_for test -s "$d/sshd.pid"
	SSH=(ssh -i "$d/user_key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o BatchMode=yes -o ConnectTimeout=60 -o LogLevel=ERROR "$u@127.0.0.1")
	[ -s "$d/sshd.pid" ]
}
