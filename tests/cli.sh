#!/bin/bash
# nscgctl check and explain, as root, against real NSS users and groups.
set -u
. "$(dirname "$0")/lib.sh"
CTL=$BUILD/nscgctl
[ "$(id -u)" = 0 ] || { echo "SKIP: cli (needs root)"; exit 77; }

make_confdir
d=$CONFDIR
u=nscgt-u$$ g1=nscgt-a$$ g2=nscgt-b$$
groupadd "$g1" && groupadd "$g2" &&
	useradd -M -N -g "$g1" -G "$g2" -s /usr/sbin/nologin "$u" ||
	{ fail cli/setup "useradd"; exit 1; }
on_exit "userdel '$u' 2>/dev/null; groupdel '$g1'; groupdel '$g2'"

expect cli/help 0 "$CTL" --help && contains cli/help-text "$OUT" "nscgctl explain USER"
expect cli/version 0 "$CTL" --version && contains cli/version-text "$OUT" "nscgctl "
expect cli/no-command 2 "$CTL" && contains cli/no-command-msg "$ERR" "nscgctl: missing command"
expect cli/bad-option 2 "$CTL" --frobnicate check

# The shipped example is clean.
install -m 0644 "$TOP/conf/nscg.conf" "$d/example.conf"
expect cli/check-example 0 "$CTL" check --conf "$d/example.conf" && [ -z "$ERR" ] &&
	pass cli/check-example-silent || fail cli/check-example-silent "$ERR"

cat >"$d/nscg.conf" <<EOC
[global]
on_error = deny
[default]
session.memory.max = 2G
session.pids.max = 256
[group:$g1]
session.memory.max = 4G
session.cpuset.cpus = 0
[group:$g2]
session.memory.max = 8G
session.cpuset.cpus = 1
[user:$u]
session.pids.max = 512
EOC
chmod 0644 "$d/nscg.conf"
mkdir -m 0755 "$d/nscg.d"
printf '[default]\nhostname = box-%%u\n' >"$d/nscg.d/10-host.conf"
chmod 0644 "$d/nscg.d/10-host.conf"
expect cli/check-clean 0 "$CTL" check --conf "$d/nscg.conf"

expect cli/explain 0 "$CTL" explain "$u" --conf "$d/nscg.conf" --service sshd
contains cli/explain-status "$OUT" "status    sandboxed"
contains cli/explain-groups "$OUT" "$g1 $g2"
# The most generous group wins, and the line it came from is shown.
grep -Eq "^session\.memory\.max +8G +$d/nscg.conf:10 \[group:$g2\]" <<<"$OUT" &&
	pass cli/explain-generous-origin || fail cli/explain-generous-origin "$OUT"
grep -Eq "^session\.pids\.max +512 +$d/nscg.conf:13 \[user:$u\]" <<<"$OUT" &&
	pass cli/explain-user-origin || fail cli/explain-user-origin "$OUT"
grep -Eq "^session\.cpuset\.cpus +0-1 .*united with 1 more group section" <<<"$OUT" &&
	pass cli/explain-cpuset-union || fail cli/explain-cpuset-union "$OUT"
grep -Eq "^hostname +box-%u +$d/nscg.d/10-host.conf:2 \[default\]" <<<"$OUT" &&
	pass cli/explain-dropin-origin || fail cli/explain-dropin-origin "$OUT"
grep -Eq "^on_error +deny +$d/nscg.conf:2 \[global\]" <<<"$OUT" &&
	pass cli/explain-global || fail cli/explain-global "$OUT"
grep -Eq "^kill_on_close +yes +built-in default" <<<"$OUT" &&
	pass cli/explain-builtin || fail cli/explain-builtin "$OUT"

expect cli/explain-skip 0 "$CTL" explain "$u" --conf "$d/nscg.conf" --service systemd-user
contains cli/explain-skip-status "$OUT" "exempt: the PAM service is listed in skip_services"
expect cli/explain-unknown-user 2 "$CTL" explain "nscgt-nobody$$" --conf "$d/nscg.conf"
contains cli/explain-unknown-user-msg "$ERR" "nscgctl: unknown user 'nscgt-nobody$$'"
expect cli/explain-hostile-name 2 "$CTL" explain "../x" --conf "$d/nscg.conf"
contains cli/explain-hostile-name-msg "$ERR" "is not a valid user name"
expect cli/explain-newline-name 2 "$CTL" explain $'a\nb' --conf "$d/nscg.conf"
contains cli/explain-newline-escaped "$ERR" "'a\\x0ab'"

# Errors: every one as FILE:LINE: error: message, exit 1.
printf '[default]\nsession.memory.max = 16\nbogus = 1\n' >"$d/nscg.d/20-bad.conf"
chmod 0644 "$d/nscg.d/20-bad.conf"
expect cli/check-errors 1 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-errors-floor "$ERR" "$d/nscg.d/20-bad.conf:2: error: session.memory.max = '16': 16 bytes is below the 32M floor"
contains cli/check-errors-unknown "$ERR" "$d/nscg.d/20-bad.conf:3: error: unknown key 'bogus' in [default]"
contains cli/check-errors-count "$ERR" "nscgctl: 2 errors in the policy"
expect cli/explain-broken 1 "$CTL" explain "$u" --conf "$d/nscg.conf"
contains cli/explain-broken-msg "$OUT" "status    on_error = deny (refused): the policy has errors"
# An exemption in the broken file still holds, and explain says so.
printf '[user:%s]\nenabled = no\n' "$u" >>"$d/nscg.d/20-bad.conf"
expect cli/explain-broken-exempt 1 "$CTL" explain "$u" --conf "$d/nscg.conf"
contains cli/explain-broken-exempt-msg "$OUT" "status    exempt: enabled = no (this holds although the policy has errors)"
rm "$d/nscg.d/20-bad.conf"

# In systemd mode, what binds the user manager's processes.
printf '[default]\nlimit_user_manager = no\n' >"$d/nscg.d/40-um.conf"
chmod 0644 "$d/nscg.d/40-um.conf"
expect cli/explain-user-manager 0 "$CTL" explain "$u" --conf "$d/nscg.conf"
contains cli/explain-user-manager-note "$OUT" "user.* limits on the slice only (limit_user_manager = no)"
rm "$d/nscg.d/40-um.conf"

# Warnings alone leave the exit status at 0.
printf '[user:%s]\nsession.pids.max = 100\nsession.pids.max = 200\n' "$u" >"$d/nscg.d/30-dup.conf"
chmod 0644 "$d/nscg.d/30-dup.conf"
expect cli/check-warning 0 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-warning-msg "$ERR" "30-dup.conf:3: warning: session.pids.max is set again"
rm "$d/nscg.d/30-dup.conf"
# A session CPU quota above the user's: a warning at its line, naming the
# user's (cgroup v1 refuses it; the module writes the user's).
printf '[default]\nuser.cpu.max = 200%%\n[user:%s]\nsession.cpu.max = 400%%\n' "$u" >"$d/nscg.d/30-cpu.conf"
chmod 0644 "$d/nscg.d/30-cpu.conf"
expect cli/check-cpu-quota 0 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-cpu-quota-msg "$ERR" "30-cpu.conf:4: warning: session.cpu.max = 400% is above user.cpu.max = 200% ($d/nscg.d/30-cpu.conf:2)"
# A memory size so large that v1's memory+swap would wrap is an error.
printf '[default]\nsession.memory.max = 8388608T\n' >"$d/nscg.d/30-cpu.conf"
expect cli/check-memory-ceiling 1 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-memory-ceiling-msg "$ERR" "30-cpu.conf:2: error: session.memory.max = '8388608T': 8388608T is above the largest size"
rm "$d/nscg.d/30-cpu.conf"

# Permissions: group-writable file, foreign owner, group-writable drop-in dir.
chmod 0664 "$d/nscg.conf"
expect cli/check-group-writable 1 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-group-writable-msg "$ERR" "$d/nscg.conf: error: refused: writable by its group (mode 0664)"
chmod 0644 "$d/nscg.conf"
chown "$u" "$d/nscg.d/10-host.conf"
expect cli/check-foreign-owner 1 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-foreign-owner-msg "$ERR" "10-host.conf: error: refused: owned by uid"
chown root "$d/nscg.d/10-host.conf"
chmod 0775 "$d/nscg.d"
expect cli/check-dropin-dir-mode 1 "$CTL" check --conf "$d/nscg.conf"
contains cli/check-dropin-dir-msg "$ERR" "$d/nscg.d: error: refused: the drop-in directory"
chmod 0755 "$d/nscg.d"
expect cli/check-missing 1 "$CTL" check --conf "$d/none.conf"
contains cli/check-missing-msg "$ERR" "$d/none.conf: error: cannot open: No such file or directory"

# The policy example in the README is a valid policy.
sed -n '/^```ini$/,/^```$/p' "$TOP/README.md" | sed '1d;$d' >"$d/readme.conf"
chmod 0644 "$d/readme.conf"
expect cli/readme-example-clean 0 "$CTL" check --conf "$d/readme.conf"
[ -s "$d/readme.conf" ] && pass cli/readme-example-found || fail cli/readme-example-found
