#!/bin/bash
# What the build produces: hardening of every binary, the module's exported
# symbols, and `make install` into a DESTDIR (no root needed).
set -u
. "$(dirname "$0")/lib.sh"
mod=$BUILD/pam_nscg.so

for bin in "$mod" "$BUILD/nscgctl" "$BUILD/nscg-helper"; do
	name=build/$(basename "$bin")
	readelf -lW "$bin" | grep -q GNU_RELRO && readelf -dW "$bin" | grep -q 'BIND_NOW\|FLAGS.*NOW' &&
		pass "$name/full-relro" || fail "$name/full-relro"
done
# The helper has no arrays on its stack yet, so nothing to protect there.
for bin in "$mod" "$BUILD/nscgctl"; do
	readelf -sW "$bin" | grep -q '__stack_chk_fail' &&
		pass "build/$(basename "$bin")/stack-protector" ||
		fail "build/$(basename "$bin")/stack-protector"
done
readelf -sW "$BUILD/nscgctl" | grep -q '_chk@' && pass build/nscgctl/fortify || fail build/nscgctl/fortify
# Only pam_sm_* may be exported by the module.
exports=$(nm -D --defined-only "$mod" | awk '{print $3}' | sort | tr '\n' ' ')
[ "$exports" = "pam_sm_close_session pam_sm_open_session " ] &&
	pass build/module-exports || fail build/module-exports "$exports"
# -z defs at link time and the RTLD_NOW load test cover unresolved
# symbols. What each binary loads: the module reads the policy itself
# (iniparser is the tools' check of that reading), and the root-run
# helper needs neither the policy nor systemd.
needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
case " $(needed "$mod")" in
*libiniparser*) fail build/module-no-iniparser "$(needed "$mod")" ;;
*) pass build/module-no-iniparser ;;
esac
# libsystemd is loaded where systemd mode needs it (login, su and
# pamtester would otherwise pay for it at every login).
case " $(needed "$mod")" in
*libsystemd*) fail build/module-loads-libsystemd-late "$(needed "$mod")" ;;
*) pass build/module-loads-libsystemd-late ;;
esac
case " $(needed "$BUILD/nscg-helper")" in
*libiniparser* | *libsystemd*) fail build/helper-lean "$(needed "$BUILD/nscg-helper")" ;;
*) pass build/helper-lean ;;
esac
readelf -dW "$mod" | grep -q 'FLAGS_1.*NODELETE' && fail build/module-unloadable "linked -z nodelete" ||
	pass build/module-unloadable

dest=$(mktemp -d /tmp/nscg-dest-XXXXXX)
on_exit "rm -rf '$dest'"
if make -s -C "$TOP" install DESTDIR="$dest" >/dev/null 2>&1; then
	pass build/install
else
	fail build/install
fi
pamdir=$(make -s -C "$TOP" --no-print-directory -f - <<<'include Makefile
p: ; @echo $(PAMDIR)' p)
check_mode() { # NAME PATH MODE
	local m
	m=$(stat -c %a "$2" 2>/dev/null)
	[ "$m" = "$3" ] && pass "$1" || fail "$1" "$2: mode ${m:-missing}, want $3"
}
check_mode build/install-module "$dest$pamdir/pam_nscg.so" 644
check_mode build/install-helper "$dest/usr/libexec/nscg/nscg-helper" 755
check_mode build/install-cli "$dest/usr/bin/nscgctl" 755
check_mode build/install-conf "$dest/etc/security/nscg.conf" 644
check_mode build/install-dropin-dir "$dest/etc/security/nscg.d" 755
case $pamdir in */security) pass build/pamdir ;; *) fail build/pamdir "$pamdir" ;; esac
# An admin's policy is never overwritten.
echo "# mine" >"$dest/etc/security/nscg.conf"
make -s -C "$TOP" install DESTDIR="$dest" >/dev/null 2>&1
[ "$(cat "$dest/etc/security/nscg.conf")" = "# mine" ] &&
	pass build/install-keeps-policy || fail build/install-keeps-policy
"$dest/usr/libexec/nscg/nscg-helper" --help | grep -q Usage &&
	pass build/helper-help || fail build/helper-help
