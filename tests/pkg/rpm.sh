#!/bin/bash
# The RPM: build it (make rpm, rpmbuild -bb with its %check), then check
# its file list, modes and flags with rpm -qlpv. No root needed.
set -u
. "$(dirname "$0")/../lib.sh"
log=$(mktemp /tmp/nscg-rpm-XXXXXX)
on_exit "rm -f '$log'"

make -s -C "$TOP" rpm >"$log" 2>&1 || { fail rpm/build "$(tail -20 "$log")"; exit 1; }
rpm=$(make -s -C "$TOP" --no-print-directory rpm-path)
[ -f "$rpm" ] && pass rpm/build || { fail rpm/build "no $rpm"; exit 1; }
# %check ran the unit tier, and it passed.
sed -n '/^Executing(%check)/,/^Executing/p' "$log" | grep -qE '^[0-9]+ passed, 0 failed$' &&
	pass rpm/check-ran || fail rpm/check-ran "no passing %check in the build log"

# rpm -qlpv: MODE LINKS OWNER GROUP SIZE DATE(3) PATH
list=$(rpm -qlpv "$rpm" | awk '{ print $1, $3, $4, $NF }')
libdir=$(rpm --eval '%{_libdir}')
has() { # NAME "MODE OWNER GROUP PATH-REGEX"
	grep -qxE -- "$2" <<<"$list" && pass "rpm/file/$1" || fail "rpm/file/$1" "no '$2' in: $list"
}
has module "-rw-r--r-- root root $libdir/security/pam_nscg\.so"
has helper "-rwxr-xr-x root root /usr/libexec/nscg/nscg-helper"
has nscgctl "-rwxr-xr-x root root /usr/bin/nscgctl"
has policy "-rw-r--r-- root root /etc/security/nscg\.conf"
has dropin-dir "drwxr-xr-x root root /etc/security/nscg\.d"
for p in man5/nscg.conf.5 man8/pam_nscg.8 man8/nscgctl.8 man8/nscg-helper.8; do
	has "${p#*/}" "-rw-r--r-- root root /usr/share/man/${p//./\\.}(\.gz)?"
done
has gc-service "-rw-r--r-- root root /usr/lib/systemd/system/nscg-gc\.service"
has gc-timer "-rw-r--r-- root root /usr/lib/systemd/system/nscg-gc\.timer"
has gc-cron "-rw-r--r-- root root /etc/cron\.d/nscg-gc"
has metrics-service "-rw-r--r-- root root /usr/lib/systemd/system/nscg-metrics\.service"
has metrics-timer "-rw-r--r-- root root /usr/lib/systemd/system/nscg-metrics\.timer"
has metrics-cron "-rw-r--r-- root root /etc/cron\.d/nscg-metrics"
setid='^-(..[sS]|.....[sS])'
grep -q nscg-helper <<<"$list" && ! grep -qE "$setid" <<<"$list" &&
	pass rpm/no-setuid || fail rpm/no-setuid "$(grep -E "$setid" <<<"$list")"
# The policy is %config(noreplace): flags c and n.
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" | awk '$2 == "/etc/security/nscg.conf" { print $1 }')
[[ $flags == *c* && $flags == *n* ]] && pass rpm/config-noreplace ||
	fail rpm/config-noreplace "flags '$flags'"
req=$(rpm -qp --requires "$rpm")
for lib in libpam.so.0 libiniparser.so.1 libcap-ng.so.0; do
	grep -q "^$lib" <<<"$req" && pass "rpm/requires/$lib" || fail "rpm/requires/$lib" "$req"
done
# Built for systemd mode: libsystemd is loaded at run time, so required
# by name.
grep -q '^systemd-libs' <<<"$req" && pass rpm/with-libsystemd ||
	fail rpm/with-libsystemd "$req"
