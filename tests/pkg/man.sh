#!/bin/bash
# The man pages against the code: mandoc lint, nscg.conf(5) against the
# policy parser (keys, sections, defaults), its examples and the shipped
# policy against the parser, the module's return codes and arguments and
# the tools' options against their pages, and `make install`. No root.
set -u
. "$(dirname "$0")/../lib.sh"
MAN=$TOP/man
KEYS=$BUILD/policy-keys
umask 022
tmp=$(mktemp -d /tmp/nscg-man-XXXXXX)
on_exit "rm -rf '$tmp'"
pages=(pam_nscg.8 nscg.conf.5 nscgctl.8 nscg-helper.8)

for p in "${pages[@]}"; do
	out=$(mandoc -Tlint -W all "$MAN/$p" 2>&1) && [ -z "$out" ] &&
		pass "man/lint/$p" || fail "man/lint/$p" "$out"
done

# Every key the parser accepts, in its section, with its default.
"$KEYS" keys >"$tmp/keys" && [ -s "$tmp/keys" ] || { fail man/policy-keys; exit 1; }
python3 "$TOP/tests/pkg/man-keys.py" "$tmp/keys" "$MAN/nscg.conf.5"

# The shipped policy states each built-in default as it is.
while IFS=$'\t' read -r key scope def; do
	[ "$def" = unset ] && continue
	grep -qxE "$key *=${def:+ *}$(sed 's/[.[*^$/]/\\&/g' <<<"$def") *" "$TOP/conf/nscg.conf" &&
		pass "man/conf-default/$key" ||
		fail "man/conf-default/$key" "conf/nscg.conf has no '$key = $def' line"
done <"$tmp/keys"
install -m 0644 "$TOP/conf/nscg.conf" "$tmp/shipped.conf"
out=$("$KEYS" check "$tmp/shipped.conf") && [ -z "$out" ] &&
	pass man/conf-clean || fail man/conf-clean "$out"

# The examples of nscg.conf(5) are clean policies. A line "# PATH" inside
# an example starts a file: the main one or a drop-in.
awk -v dir="$tmp/ex" '
	/^\.EX/ { n++; f = dir n "/nscg.conf"; system("mkdir -p " dir n "/nscg.d"); next }
	/^\.EE/ { f = ""; next }
	f != "" && /^# \/etc\/security\/nscg\.d\// { sub(/.*\//, ""); f = dir n "/nscg.d/" $0; next }
	f != "" && /^# \/etc\/security\/nscg\.conf$/ { next }
	f != "" { gsub(/\\-/, "-"); gsub(/\\\(aq/, "\047"); print >>f }
' "$MAN/nscg.conf.5"
n=0
for ex in "$tmp"/ex*/nscg.conf; do
	n=$((n + 1))
	out=$("$KEYS" check "$ex") && [ -z "$out" ] &&
		pass "man/example-$n" || fail "man/example-$n" "$out"
done
[ "$n" -ge 2 ] && pass man/examples-found || fail man/examples-found "$n examples"
ls "$tmp"/ex*/nscg.d/*.conf >/dev/null 2>&1 && pass man/example-dropin ||
	fail man/example-dropin "no drop-in in the examples"

# Every code pam_nscg.c returns, and every module argument it parses, is
# documented in pam_nscg(8).
codes=$(grep -E 'return ' "$TOP/pam_module/pam_nscg.c" | grep -oE 'PAM_[A-Z_]+' | sort -u)
[ -n "$codes" ] || fail man/pam-codes "none found in pam_nscg.c"
for c in $codes; do
	grep -qx ".B $c" "$MAN/pam_nscg.8" && pass "man/pam_nscg.8/$c" ||
		fail "man/pam_nscg.8/$c" "return code not documented"
done
args=$(grep -oE 'cmp\(argv\[i\], "[^"]+"' "$TOP/pam_module/pam_nscg.c" | cut -d'"' -f2)
[ -n "$args" ] || fail man/pam-args "none found in pam_nscg.c"
for a in $args; do
	grep -qE "^\.BI? $a( |$)" "$MAN/pam_nscg.8" && pass "man/pam_nscg.8/arg-$a" ||
		fail "man/pam_nscg.8/arg-$a" "module argument not documented"
done

# Every long option of the tools, in their pages.
for tool in cli/nscgctl.c:nscgctl.8 helper/nscg-helper.c:nscg-helper.8; do
	src=${tool%%:*} page=${tool#*:}
	opts=$(sed -n '/struct option opts\[\]/,/};/p' "$TOP/$src" | grep -oE '\{ "[a-z-]+"' | cut -d'"' -f2)
	[ -n "$opts" ] || fail "man/$page/options" "none found in $src"
	for o in $opts; do
		sed 's/\\-/-/g' "$MAN/$page" | grep -qF -- "--$o" && pass "man/$page/--$o" ||
			fail "man/$page/--$o" "option not documented"
	done
done

# make install puts them in section 5 and 8.
dest=$tmp/dest
make -s -C "$TOP" install DESTDIR="$dest" >/dev/null 2>&1 || fail man/install "make install"
for p in "${pages[@]}"; do
	f=$dest/usr/share/man/man${p##*.}/$p
	[ "$(stat -c %a "$f" 2>/dev/null)" = 644 ] && cmp -s "$f" "$MAN/$p" &&
		pass "man/install/$p" || fail "man/install/$p" "$f"
done
