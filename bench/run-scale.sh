#!/bin/bash
# 200 sessions held open at once (session-runner, one process each, as
# login would hold them): the time to open the 1st..200th, and the
# memory (RSS) of the callers, beside a pam_permit-only caller measured
# in the same run. As root.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-200}
[ "$(id -u)" = 0 ] || { echo "bench-scale: needs root" >&2; exit 1; }
d=$(mktemp -d /tmp/nscg-scale-XXXXXX)
u=nscgt-c$$ parent=nscg-scale-$$
cleanup() {
	pkill -KILL -u "$u" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -f "/run/nscg/uid-$(id -u "$u" 2>/dev/null).lock"
	rmdir /run/nscg 2>/dev/null || true
	userdel "$u" 2>/dev/null || true
	rm -f /etc/pam.d/nscg-scale-$$ /etc/pam.d/nscg-scale-base-$$
	for h in /sys/fs/cgroup/*/"$parent"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$d"
}
trap cleanup EXIT
chmod 0755 "$d"
install -m 0755 "$build/nscg-helper" "$d/nscg-helper"
printf '[global]\ncgroup_parent = %s\nhelper = %s/nscg-helper\n[default]\nsession.memory.max = 256M\n' "$parent" "$d" >"$d/nscg.conf"
chmod 0644 "$d/nscg.conf"
useradd -M -N -s /bin/sh "$u"
printf 'session required %s/pam_nscg.so conf=%s/nscg.conf\nsession required pam_permit.so\n' "$build" "$d" >/etc/pam.d/nscg-scale-$$
echo "session required pam_permit.so" >/etc/pam.d/nscg-scale-base-$$

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
"$build/session-runner" nscg-scale-base-$$ "$u" sleep 600 2>/dev/null & base=$!
sleep 0.3
base_rss=$(rss_kb $base)
kill $base 2>/dev/null; pkill -u "$u" sleep || true; wait $base 2>/dev/null || true

pids=()
for i in $(seq "$n"); do
	"$build/session-runner" --time nscg-scale-$$ "$u" sleep 600 2>"$d/t.$i" & pids+=($!)
	for _ in $(seq 200); do grep -q open_us "$d/t.$i" 2>/dev/null && break; sleep 0.01; done
done
times=$(for i in $(seq "$n"); do sed -n 's/open_us=//p' "$d/t.$i"; done)
first10=$(head -10 <<<"$times" | sort -n | sed -n 5p)
last10=$(tail -10 <<<"$times" | sort -n | sed -n 5p)
total=0
for p in "${pids[@]}"; do total=$((total + $(rss_kb "$p"))); done
open=$(ls -d /sys/fs/cgroup/memory/"$parent"/user-*/session-* | wc -l)
echo "sessions held open: $open"
printf '%-44s %10s\n' "" "value"
printf '%-44s %10s\n' "caller RSS, pam_permit only (baseline)" "${base_rss} kB"
printf '%-44s %10s\n' "caller RSS, pam_nscg, mean over $n" "$((total / n)) kB"
printf '%-44s %10s\n' "open time, sessions 1-10 (median)" "$((first10 / 1000)).$(printf %03d $((first10 % 1000))) ms"
printf '%-44s %10s\n' "open time, sessions $((n - 9))-$n (median)" "$((last10 / 1000)).$(printf %03d $((last10 % 1000))) ms"
pkill -u "$u" sleep || true
for p in "${pids[@]}"; do wait "$p" || true; done
echo "after logout: $(ls -d /sys/fs/cgroup/memory/"$parent"/user-* 2>/dev/null | wc -l) user cgroups left"
