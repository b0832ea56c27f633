#!/bin/bash
# The VM tier: real Debian 12 guests under qemu (TCG), each logged into
# over ssh as unprivileged users with keys, pam_nscg in sshd's stack.
#   guest "systemd": pure cgroup v2, systemd + logind, pam_systemd then
#                    pam_nscg in the stack (systemd mode)
#   guest "v2":      pure cgroup v2, sshd without pam_systemd
#                    (standalone mode on real v2 controllers)
#   guest "hybrid":  systemd.unified_cgroup_hierarchy=0, standalone mode
#   guest "hybrid-systemd": the same in systemd mode
#   guest "v1":      pure cgroup v1 (systemd.legacy_systemd_cgroup_controller=1:
#                    no unified hierarchy at all), standalone mode
#   guest "v1-systemd": the same in systemd mode
# One image (mmdebstrap), cached under $BUILD/vm and rebuilt only when
# tests/vm/recipe.sh changes; the guests run one after another. Prints
# the time each step took, each guest's and the tier's, and the ssh login
# benchmark (bench/vm-login.sh) of the systemd and v2 guests. Every wait
# is for something to be seen, with a deadline ($VW seconds, a boot
# $BOOTW): TCG is slow, and slower on a loaded host.
set -u
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/vm/recipe.sh"
. "$TOP/bench/vm-login.sh"
. "$TOP/tests/runtimes/check.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: vm (needs root)"; exit 77; }
for c in qemu-system-x86_64 mmdebstrap mke2fs; do
	command -v $c >/dev/null || { skip vm "no $c here"; exit 77; }
done
vm=$BUILD/vm
mkdir -p "$vm"
VW=${NSCG_VM_WAIT:-120}
BOOTW=${NSCG_VM_BOOT_WAIT:-900}
# step NAME: the time since the last step, as a line the runner shows.
step() {
	local now
	now=$(date +%s)
	printf '# %-40s %4ds\n' "$1" $((now - t0))
	t0=$now
}
t0=$(date +%s) tier0=$(date +%s)
guest_times=()

hash=$(cat "$TOP/tests/vm/recipe.sh" | sha256sum | cut -c1-16)
if [ ! -s "$vm/rootfs-$hash.tar" ]; then
	rm -f "$vm"/rootfs-*.tar
	if ! mmdebstrap --format=tar --variant=minbase --include="$PACKAGES" "$SUITE" \
		"$vm/rootfs-$hash.tar.tmp" "$MIRROR" >"$vm/mmdebstrap.log" 2>&1; then
		tail -20 "$vm/mmdebstrap.log"
		fail vm/image "mmdebstrap failed"
		exit 1
	fi
	mv "$vm/rootfs-$hash.tar.tmp" "$vm/rootfs-$hash.tar"
	step "image built"
else
	step "image cached"
fi
pass vm/image
# The guests' kernel and initrd, from the image.
kernel=$(tar -tf "$vm/rootfs-$hash.tar" | grep -m1 '^./boot/vmlinuz-')
initrd=$(tar -tf "$vm/rootfs-$hash.tar" | grep -m1 '^./boot/initrd.img-')
tar -C "$vm" -xf "$vm/rootfs-$hash.tar" "$kernel" "$initrd"
[ -f "$vm/key" ] || ssh-keygen -q -t ed25519 -N '' -f "$vm/key"
# The Debian package of this tree, built if missing or older than a source.
deb=$(make -s -C "$TOP" --no-print-directory deb-path)
if [ ! -f "$deb" ] || [ -n "$(cd "$TOP" && find lib pam_module helper cli conf man packaging Makefile -newer "$deb" -print -quit)" ]; then
	if ! make -s -C "$TOP" deb >"$vm/deb.log" 2>&1; then
		fail vm/package "make deb failed: $(tail -20 "$vm/deb.log")"
		exit 1
	fi
fi
step "package ready"
# The JVM's probe, built here: the guests have a JRE only.
command -v javac >/dev/null && javac -d "$vm" "$TOP/tests/runtimes/Limits.java"

SSHO=(-i "$vm/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR)

# gwait PORT COND: COND, a shell list run as root in the guest, until it
# holds, $VW seconds at most, in one login; its status.
gwait() {
	timeout $((VW + 60)) ssh "${SSHO[@]}" -p "$1" root@127.0.0.1 \
		"end=\$((SECONDS + $VW)); until { $2; }; do [ \$SECONDS -lt \$end ] || exit 1; sleep 0.2; done"
}
# in_journal PORT PATTERN: until the guest's journal has a line matching
# PATTERN (grep's basic regex); journald takes the lines in its own time.
in_journal() { gwait "$1" "journalctl -q --no-pager | grep -q $(printf %q "$2")"; }
# hold FILE: a guest shell snippet that waits until FILE is there, 10
# minutes at most, then removes it: a session that lasts until the test
# is done with it.
hold() { echo "end=\$((SECONDS + 600)); until [ -e $1 ]; do [ \$SECONDS -lt \$end ] || break; sleep 0.2; done; rm -f $1"; }
# A process of ours that runs (a zombie does not).
gone() { ! running "$1"; }
# stop_guest G: the guest's qemu (the pid in its pid file, if its command line
# names the guest's disk: never another process) ended and waited for,
# its disk removed.
stop_guest() {
	local pid
	pid=$(cat "$vm/$1.pid" 2>/dev/null)
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$vm/$1.img"; then
		kill "$pid"
		wait_for -t "$VW" gone "$pid" || kill -KILL "$pid"
	fi
	rm -f "$vm/$1.pid" "$vm/$1.img"
}

# guest NAME CMDLINE-EXTRA LAYOUT STACK PORT
#   STACK "systemd": Debian's sshd stack, common-session with pam_systemd
#   then pam_nscg (the package's pam-auth-update profile); "standalone":
#   no pam_systemd, pam_nscg last in sshd's own stack.
# A second sshd, sshd-plain on PORT+1, runs the same stack without
# pam_nscg (OpenSSH names its PAM service after its program), for the
# login benchmark.
guest() {
	local g=$1 extra=$2 layout=$3 stack=$4 port=$5 root=$vm/$1 tg
	tg=$(date +%s)
	rm -rf "$root" "$vm/$g.img"
	mkdir -p "$root"
	if ! tar -C "$root" -xf "$vm/rootfs-$hash.tar" || [ ! -f "$root/etc/pam.d/sshd" ]; then
		fail "vm/$g/prepare" "cannot unpack the image"
		rm -rf "$root"
		return
	fi
	# The project, installed the way a user would: its Debian package,
	# whose pam-auth-update profile adds pam_nscg to common-session.
	cp "$deb" "$root/tmp/"
	if ! chroot "$root" dpkg -i "/tmp/${deb##*/}" >"$vm/$g.dpkg.log" 2>&1; then
		fail "vm/$g/install" "$(tail -20 "$vm/$g.dpkg.log")"
		rm -rf "$root"
		return
	fi
	rm -f "$root/tmp/${deb##*/}"
	printf 'auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n' >"$root/etc/network/interfaces"
	echo "/dev/vda / ext4 rw 0 1" >"$root/etc/fstab"
	echo "nscg-$g" >"$root/etc/hostname"
	for u in tester other; do
		chroot "$root" useradd -m -s /bin/bash "$u"
		install -d -m 0700 "$root/home/$u/.ssh"
		install -m 0600 "$vm/key.pub" "$root/home/$u/.ssh/authorized_keys"
		chroot "$root" chown -R "$u:" "/home/$u/.ssh"
	done
	install -d -m 0700 "$root/root/.ssh"
	install -m 0600 "$vm/key.pub" "$root/root/.ssh/authorized_keys"
	install -m 0644 "$TOP/tests/vm/guest.sh" "$root/usr/local/lib/nscg-vm-guest.sh"
	install -m 0644 "$TOP/tests/vm/inside.sh" "$root/usr/local/bin/nscg-vm-inside"
	install -m 0644 "$TOP/tests/escape/attempts.sh" "$root/usr/local/bin/nscg-escape-attempts"
	install -m 0644 "$TOP/tests/vm/delegate.sh" "$root/usr/local/bin/nscg-vm-delegate"
	install -m 0644 "$TOP/tests/vm/podman.sh" "$root/usr/local/bin/nscg-vm-podman"
	install -d "$root/usr/local/lib/nscg-runtimes"
	install -m 0755 "$TOP/tests/runtimes/probe.sh" "$root/usr/local/lib/nscg-runtimes/probe.sh"
	[ ! -e "$vm/Limits.class" ] || install -m 0644 "$vm/Limits.class" "$root/usr/local/lib/nscg-runtimes/"
	cat >"$root/etc/security/nscg.d/50-vm.conf" <<EOC
[default]
session.memory.max = 128M
session.memory.swap.max = 0
session.pids.max = 64
hostname = vm-%u
[user:root]
enabled = no
EOC
	# The guests without pam_systemd test standalone mode on real
	# controllers: said so, as systemd runs them (mode = auto would give
	# their logins transient scopes, as it does to the at jobs of the
	# systemd guests).
	[ "$stack" = standalone ] && printf '[global]\nmode = standalone\n' >>"$root/etc/security/nscg.d/50-vm.conf"
	chmod 0644 "$root/etc/security/nscg.d/50-vm.conf"
	# systemd: common-session as the package left it (pam_systemd, then
	# pam_nscg). standalone: sshd's stack without common-session, so
	# without pam_systemd, and pam_nscg last. sshd-plain: either without
	# pam_nscg.
	grep -q '^session.*pam_systemd.so.*' "$root/etc/pam.d/common-session" &&
		sed -n '/pam_systemd/,$p' "$root/etc/pam.d/common-session" | grep -q pam_nscg.so &&
		pass "vm/$g/package-enabled-after-pam_systemd" ||
		fail "vm/$g/package-enabled-after-pam_systemd" "$(cat "$root/etc/pam.d/common-session")"
	grep -v pam_nscg.so "$root/etc/pam.d/common-session" >"$root/etc/pam.d/common-session-plain"
	if [ "$stack" = standalone ]; then
		sed -i 's|^@include common-session$|session required pam_unix.so|' "$root/etc/pam.d/sshd"
		cp "$root/etc/pam.d/sshd" "$root/etc/pam.d/sshd-plain"
		echo "session required pam_nscg.so" >>"$root/etc/pam.d/sshd"
	else
		sed 's|^@include common-session$|@include common-session-plain|' \
			"$root/etc/pam.d/sshd" >"$root/etc/pam.d/sshd-plain"
	fi
	ln -s sshd "$root/usr/sbin/sshd-plain"
	cat >"$root/etc/systemd/system/sshd-plain.service" <<EOU
[Unit]
Description=sshd without pam_nscg, for the login benchmark
After=ssh.service
[Service]
ExecStart=/usr/sbin/sshd-plain -D -p 2222 -o PidFile=/run/sshd-plain.pid
[Install]
WantedBy=multi-user.target
EOU
	ln -s /etc/systemd/system/sshd-plain.service \
		"$root/etc/systemd/system/multi-user.target.wants/sshd-plain.service"
	truncate -s 3G "$vm/$g.img"
	mke2fs -q -t ext4 -d "$root" "$vm/$g.img"
	rm -rf "$root"
	step "$g: image prepared"

	rm -f "$vm/$g.console"
	qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1536 \
		-kernel "$vm/$kernel" -initrd "$vm/$initrd" \
		-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 $extra" \
		-drive file="$vm/$g.img",if=virtio,format=raw \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22,hostfwd=tcp:127.0.0.1:$((port + 1))-:2222 \
		-device virtio-net-pci,netdev=n0 \
		-display none -serial file:"$vm/$g.console" -pidfile "$vm/$g.pid" -daemonize
	on_exit "stop_guest $g"
	# Up when root logs in over ssh, while qemu runs.
	local end=$((SECONDS + BOOTW)) qpid
	qpid=$(cat "$vm/$g.pid" 2>/dev/null)
	until timeout 30 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1 true 2>/dev/null; do
		if [ $SECONDS -ge $end ] || [ -z "$qpid" ] || ! running "$qpid"; then
			fail "vm/$g/boot" "no ssh within $BOOTW s, or qemu ended; console:"
			tail -40 "$vm/$g.console"
			stop_guest "$g"
			return
		fi
		sleep 1
	done
	pass "vm/$g/boot"
	step "$g: booted"
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	# The layout the guest is for, or nothing else in it means anything.
	local want
	case $layout in
	v2) want='grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts' ;;
	hybrid) want='grep -q " /sys/fs/cgroup/unified cgroup2 " /proc/mounts' ;;
	v1) want='test ! -e /sys/fs/cgroup/unified && ! grep -q " cgroup2 " /proc/mounts && ! grep -q "^0::" /proc/self/cgroup && grep -q " /sys/fs/cgroup/memory cgroup " /proc/mounts' ;;
	esac
	if "${R[@]}" "$want"; then
		pass "vm/$g/layout-$layout"
	else
		fail "vm/$g/layout-$layout" "$("${R[@]}" 'grep cgroup /proc/mounts; cat /proc/self/cgroup')"
		stop_guest "$g"
		return
	fi
	# A second user's session runs beside the first one's memory hog,
	# until the first one's checks are done.
	timeout 900 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1 "echo started; $(hold '$HOME/release'); echo survived" \
		</dev/null >"$vm/$g.other" 2>&1 &
	local other=$!
	wait_for -t "$VW" grep -qsx started "$vm/$g.other"
	local out
	out=$(timeout 600 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 "bash /usr/local/bin/nscg-vm-inside $g $layout $stack" 2>&1)
	grep -E '^(PASS|FAIL):' <<<"$out"
	if ! grep -qE '^(PASS|FAIL):' <<<"$out"; then
		fail "vm/$g/inside" "no answer from the session: $out; console:"
		tail -40 "$vm/$g.console"
	fi
	"${R[@]}" 'touch ~other/release'
	wait $other
	grep -qx started "$vm/$g.other" && grep -qx survived "$vm/$g.other" && pass "vm/$g/other-user-unaffected" ||
		fail "vm/$g/other-user-unaffected" "$(cat "$vm/$g.other")"
	local left
	left=$(sed -n 's/^leftover=//p' <<<"$out")
	[ -n "$left" ] && pass "vm/$g/leftover-started" || fail "vm/$g/leftover-started"
	# Logout is asynchronous to the client (logind stops the scope, and
	# pam_nscg's close removes the cgroups, after the answer).
	gwait "$port" '! pgrep -u tester >/dev/null' &&
		pass "vm/$g/no-process-left" ||
		fail "vm/$g/no-process-left" "$("${R[@]}" 'pgrep -a -u tester')"
	if [ "$stack" = systemd ]; then
		gwait "$port" 'u=$(id -u tester); ! ls -d /sys/fs/cgroup/{,*/}user.slice/user-$u.slice/session-*.scope 2>/dev/null | grep -q .' &&
			pass "vm/$g/no-scope-left" ||
			fail "vm/$g/no-scope-left" "$("${R[@]}" 'loginctl list-sessions; ls -d /sys/fs/cgroup/{,*/}user.slice/*/session-*')"
		"${R[@]}" '! ls -d /sys/fs/cgroup/nscg /sys/fs/cgroup/*/nscg 2>/dev/null | grep -q .' &&
			pass "vm/$g/no-own-cgroup-in-systemd-tree" || fail "vm/$g/no-own-cgroup-in-systemd-tree"
		in_journal "$port" "pam_nscg(sshd:session): tester (uid [0-9]*) sandboxed in user-[0-9]*.slice/session-[0-9]*.scope (systemd)" &&
			pass "vm/$g/systemd-mode-used" || fail "vm/$g/systemd-mode-used"
		if [ "$layout" != v2 ]; then
			in_journal "$port" "systemd applies memory.swap.max only on cgroup v2" &&
				pass "vm/$g/v2-only-limits-logged" || fail "vm/$g/v2-only-limits-logged"
		fi
	else
		gwait "$port" '! ls -d /sys/fs/cgroup/nscg/user-* /sys/fs/cgroup/*/nscg/user-* 2>/dev/null | grep -q .' &&
			pass "vm/$g/no-cgroup-left" ||
			fail "vm/$g/no-cgroup-left" "$("${R[@]}" 'ls -d /sys/fs/cgroup/nscg/user-* /sys/fs/cgroup/*/nscg/user-*')"
	fi
	in_journal "$port" 'pam_nscg(sshd:session): uid [0-9]* session-[0-9a-z]*\(\.scope\)\{0,1\} closed: .*oom kills [1-9]' &&
		pass "vm/$g/accounting-logged" ||
		fail "vm/$g/accounting-logged" "$("${R[@]}" 'journalctl -q --no-pager | grep pam_nscg | tail -20')"
	step "$g: first checks"
	if step_wanted hostile; then
		hostile "$g" "$port" "$stack" "$layout"
		step "$g: hostile user"
	fi
	if step_wanted live; then
		live "$g" "$port" "$stack" "$layout"
		step "$g: live sessions"
	fi
	if step_wanted isolation; then
		isolation "$g" "$port" "$stack" "$layout"
		step "$g: hide_processes, delegate"
	fi
	if step_wanted runtimes; then
		runtimes "$g" "$port" "$layout"
		step "$g: runtimes"
	fi
	if [ "$layout" = v2 ] && step_wanted bench; then
		bench_logins "$g" "$port" $((port + 1))
		bench_isolation "$g" "$port"
		step "$g: login benchmark"
	fi
	stop_guest "$g"
	step "$g: stopped"
	guest_times+=("$g $(($(date +%s) - tg))")
	printf '# %-40s %4ds\n' "$g: in all" $(($(date +%s) - tg))
}

# The hostile user in a guest (tests/escape/ on this host): filling
# user.pids.max and logging in again, under on_error = allow; pinning
# /dev/shm memory across logouts.
hostile() {
	local g=$1 port=$2 stack=$3 layout=$4
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	local O=(timeout 120 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1)
	local T=(timeout 300 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1)
	"${R[@]}" "printf '[global]\non_error = allow\n[user:other]\nuser.pids.max = 24\n' >/etc/security/nscg.d/60-hostile.conf; chmod 0644 /etc/security/nscg.d/60-hostile.conf"
	# Forks until the kernel refuses one, says so in ~/full, and holds
	# everything until it is killed.
	timeout 900 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1 perl >/dev/null 2>&1 <<'EOP' &
while (defined(my $p = fork())) { if (!$p) { sleep 1000; exit 0 } }
open(my $f, ">", "$ENV{HOME}/full") and close($f);
sleep 1000;
EOP
	local filler=$!
	gwait "$port" 'test -e ~other/full' || fail "vm/$g/fill-pids-filled" "$("${R[@]}" 'pgrep -c -u other')"
	local out rc
	out=$("${O[@]}" 'cat /proc/self/cgroup' 2>&1)
	rc=$?
	[ $rc != 0 ] && ! grep -q '^[0-9]*:' <<<"$out" && pass "vm/$g/fill-pids-login-refused" ||
		fail "vm/$g/fill-pids-login-refused" "rc $rc: $out"
	in_journal "$port" "pam_nscg(sshd:session): refusing a login of other" &&
		pass "vm/$g/fill-pids-refusal-logged" ||
		fail "vm/$g/fill-pids-refusal-logged" "$("${R[@]}" 'journalctl -q --no-pager | grep -E "pam_nscg|sshd" | tail -8')"
	"${R[@]}" 'pkill -KILL -u other; rm -f ~other/full /etc/security/nscg.d/60-hostile.conf'
	wait $filler
	# The classic ways out, from inside a session as the user (the
	# attempts of tests/escape/ on this host), and every way of
	# outliving the login: all gone after logout.
	# Its output goes through a file: a leftover stopped before it has
	# redirected its own (kill -STOP right after the fork) would keep
	# the session's pipes, and so the login, open.
	out=$("${T[@]}" "bash /usr/local/bin/nscg-escape-attempts /home/tester/left vm/$g/escape </dev/null >~/attempts.out 2>&1; cat ~/attempts.out" 2>&1)
	grep -E '^(PASS|FAIL):' <<<"$out"
	[ "$(grep -c '^PASS:' <<<"$out")" -ge 20 ] && pass "vm/$g/escape/twenty-attempts" ||
		fail "vm/$g/escape/twenty-attempts" "$out"
	gwait "$port" 'n=0; for p in $(cat ~tester/left); do [ -e /proc/$p ] && ! grep -q "^State:.*Z" /proc/$p/status && n=$((n+1)); done; [ $n = 0 ]' &&
		pass "vm/$g/escape/nothing-outlives-logout" ||
		fail "vm/$g/escape/nothing-outlives-logout" "$("${R[@]}" 'pgrep -a -u tester')"
	# Work started outside a login: an at job, through atd's stack
	# (common-session-noninteractive, where the package put pam_nscg).
	"${T[@]}" 'echo "cat /proc/self/cgroup >\$HOME/at-cg; sleep 1000 & echo \$! >\$HOME/at-left" | at now 2>/dev/null'
	gwait "$port" 'test -s ~tester/at-left'
	"${R[@]}" '! grep -qv ":/$" ~tester/at-cg && test -s ~tester/at-cg' && pass "vm/$g/at-job-sandboxed" ||
		fail "vm/$g/at-job-sandboxed" "$("${R[@]}" 'cat ~tester/at-cg; journalctl -q --no-pager | grep -E "pam_nscg|atd" | tail -5')"
	gwait "$port" 'p=$(cat ~tester/at-left); ! { [ -e /proc/$p ] && ! grep -q "^State:.*Z" /proc/$p/status; }' &&
		pass "vm/$g/at-job-leftover-killed" || fail "vm/$g/at-job-leftover-killed"
	if [ "$stack" = systemd ]; then
		in_journal "$port" "pam_nscg(atd:session): tester (uid [0-9]*) sandboxed in user-[0-9]*.slice/nscg-[0-9]*-[0-9a-f]*.scope (systemd)" &&
			pass "vm/$g/at-job-transient-scope" ||
			fail "vm/$g/at-job-transient-scope" "$("${R[@]}" 'journalctl -q --no-pager | grep pam_nscg | tail -5')"
		"${R[@]}" '! ls -d /sys/fs/cgroup/nscg /sys/fs/cgroup/*/nscg 2>/dev/null | grep -q .' &&
			pass "vm/$g/at-job-no-own-cgroup" || fail "vm/$g/at-job-no-own-cgroup"
	fi
	# Three logins fill their /dev/shm and log out, while a fourth holds
	# the user's cgroup: nothing stays charged to the user once they are
	# closed.
	local ucg='/sys/fs/cgroup/nscg/user-$(id -u tester)'
	[ "$stack" = systemd ] && ucg='/sys/fs/cgroup/user.slice/user-$(id -u tester).slice'
	[ "$layout" = v2 ] || return 0
	timeout 900 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 'echo $$ >~/keeper; sleep 1000' </dev/null >/dev/null 2>&1 &
	local keeper=$!
	gwait "$port" "test -s ~tester/keeper && test -e $ucg/memory.current"
	local before
	before=$("${R[@]}" "cat $ucg/memory.current")
	for i in 1 2 3; do
		"${T[@]}" 'dd if=/dev/zero of=/dev/shm/pin bs=1M count=200 2>/dev/null' >/dev/null 2>&1
	done
	[ -n "$before" ] && gwait "$port" "[ \$((\$(cat $ucg/memory.current) - $before)) -lt $((16 << 20)) ]" &&
		pass "vm/$g/pin-shm-nothing-pinned" ||
		fail "vm/$g/pin-shm-nothing-pinned" "memory.current $before before, $("${R[@]}" "cat $ucg/memory.current") after"
	"${R[@]}" 'pkill -KILL -u tester; rm -f ~tester/keeper'
	wait $keeper
}

# Live sessions seen and steered with nscgctl in a guest: status as root
# and as the user inside a session (the JSON parsed here), metrics
# (promtool here), apply read back from cgroupfs or from the unit,
# terminate, and the OOM notice on an ssh -t terminal.
live() {
	local g=$1 port=$2 stack=$3 layout=$4 out j
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	local T=(timeout 120 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1)
	local mode=standalone
	[ "$stack" = systemd ] && mode=systemd
	# A session that lasts until nscgctl terminate ends it.
	timeout 900 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 'sleep 1000' </dev/null >/dev/null 2>&1 &
	local holder=$!
	gwait "$port" 'nscgctl status tester --json | grep -q "\"user\":\"tester\""'
	j=$("${R[@]}" 'nscgctl status tester --json')
	out=$(printf '%s' "$j" | python3 -c 'import json, sys; j = json.load(sys.stdin); s = j["sessions"][0]; print(s["user"], s["mode"], s["service"], s["usage"]["memory_max"], s["usage"]["tasks_max"], j["users"][0]["sessions"])' 2>&1)
	[ "$out" = "tester $mode sshd 134217728 64 1" ] && pass "vm/$g/live/status-json" ||
		fail "vm/$g/live/status-json" "$out: $j"
	# The user, from inside a session of theirs: their own only.
	out=$("${T[@]}" 'nscgctl status --json' 2>&1)
	[ "$(printf '%s' "$out" | python3 -c 'import json, sys; j = json.load(sys.stdin); print(sorted(set(s["user"] for s in j["sessions"])), len(j["sessions"]) >= 2)' 2>&1)" = "['tester'] True" ] &&
		pass "vm/$g/live/user-status-inside" || fail "vm/$g/live/user-status-inside" "$out"
	out=$("${R[@]}" 'nscgctl metrics' 2>&1)
	printf '%s\n' "$out" | promtool check metrics >/dev/null 2>&1 && grep -q '^nscg_sessions{user="tester"' <<<"$out" &&
		pass "vm/$g/live/metrics-promtool" || fail "vm/$g/live/metrics-promtool" "$(printf '%s\n' "$out" | promtool check metrics 2>&1 | head -5)"
	# apply: pids.max raised, then lowered, read back where it lives.
	local readback
	if [ "$stack" = systemd ]; then
		readback='s=$(nscgctl status tester --json | grep -o "\"name\":\"session-[0-9]*\.scope\"" | head -1 | cut -d\" -f4); systemctl show -P TasksMax "$s"'
	else
		readback='cat /sys/fs/cgroup/nscg/user-$(id -u tester)/session-*/pids.max /sys/fs/cgroup/pids/nscg/user-$(id -u tester)/session-*/pids.max 2>/dev/null | sort -u | head -1'
	fi
	"${R[@]}" "printf '[default]\nsession.pids.max = 100\n' >/etc/security/nscg.d/70-live.conf; chmod 0644 /etc/security/nscg.d/70-live.conf; nscgctl apply tester" >"$vm/$g.apply" 2>&1
	out=$("${R[@]}" "$readback")
	[ "$out" = 100 ] && pass "vm/$g/live/apply-raised" || fail "vm/$g/live/apply-raised" "$out; $(cat "$vm/$g.apply")"
	"${R[@]}" "printf '[default]\nsession.pids.max = 50\n' >/etc/security/nscg.d/70-live.conf; nscgctl apply tester" >"$vm/$g.apply" 2>&1
	out=$("${R[@]}" "$readback")
	[ "$out" = 50 ] && pass "vm/$g/live/apply-lowered" || fail "vm/$g/live/apply-lowered" "$out; $(cat "$vm/$g.apply")"
	"${R[@]}" 'rm -f /etc/security/nscg.d/70-live.conf'
	# The notice's line in the log: one more than before (the first
	# checks' memory hog has its own).
	local said='nscg-watch\[[0-9]*\]: uid [0-9]* tester .*: the OOM killer ended a process: session.memory.max (128M) reached'
	local n
	n=$("${R[@]}" "journalctl -q --no-pager | grep -c $(printf %q "$said")")
	oom_notice "$g" "$port"
	gwait "$port" "[ \$(journalctl -q --no-pager | grep -c $(printf %q "$said")) -gt ${n:-0} ]" &&
		pass "vm/$g/live/oom-logged" || fail "vm/$g/live/oom-logged" "$("${R[@]}" 'journalctl -q --no-pager | grep nscg-watch | tail -3')"
	# terminate: the held session ends, nothing of the user is left.
	"${R[@]}" 'nscgctl terminate --user tester' >"$vm/$g.terminate" 2>&1 && pass "vm/$g/live/terminate" ||
		fail "vm/$g/live/terminate" "$(cat "$vm/$g.terminate")"
	wait $holder
	gwait "$port" '! pgrep -u tester >/dev/null' &&
		pass "vm/$g/live/terminate-nothing-left" || fail "vm/$g/live/terminate-nothing-left" "$("${R[@]}" 'pgrep -a -u tester')"
	gwait "$port" '! pgrep -x nscg-watch >/dev/null' &&
		pass "vm/$g/live/watchers-gone" || fail "vm/$g/live/watchers-gone" "$("${R[@]}" 'ps -o pid,stat,args -C nscg-watch')"
}

# The OOM notice on the terminal of an ssh -tt session (its output in a
# file here). The session starts its memory hog once its watcher listens
# (every session record of the user has its watcher's socket: the
# watcher has read the counts it tells from), and ends once the notice
# has arrived here.
oom_notice() {
	local g=$1 port=$2 tty=$vm/$1.tty
	local notice="^nscg: the OOM killer ended a process of this session: session.memory.max (128M) was reached"
	timeout 900 ssh -tt "${SSHO[@]}" -p "$port" tester@127.0.0.1 \
		"echo READY; $(hold '$HOME/oom-go'); tail /dev/zero; $(hold '$HOME/oom-seen'); echo END" </dev/null >"$tty" 2>&1 &
	local pid=$!
	wait_for -t "$VW" grep -qs READY "$tty"
	gwait "$port" 'u=$(id -u tester); n=0 ok=0; for r in /run/nscg/sessions/uid-$u.*; do [ -e "$r" ] || continue; n=$((n + 1)); [ -S "/run/nscg-status/$u.${r##*/uid-$u.}" ] && ok=$((ok + 1)); done; [ $n -ge 2 ] && [ $ok = $n ]' ||
		fail "vm/$g/live/oom-watcher-listens" "$(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1 'ls /run/nscg/sessions /run/nscg-status')"
	timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1 'touch ~tester/oom-go'
	wait_for -t "$VW" grep -qs "$notice" "$tty" && pass "vm/$g/live/oom-notice-on-tty" ||
		fail "vm/$g/live/oom-notice-on-tty" "$(tr -d '\r' <"$tty" | tail -c 400); the guest: $(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1 \
			'pgrep -a nscg-watch; ls /run/nscg/sessions /run/nscg-status; journalctl -q --no-pager -o short-precise | grep -E "nscg-watch|Killed process|sandboxed in|closed:" | tail -8')"
	timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1 'touch ~tester/oom-seen'
	wait $pid
	rm -f "$tty"
}

# hide_processes and delegate in a guest: the user's ps shows their own
# processes only, the host's /proc is as it was; on a pure v2 guest the
# delegated subtree, tried as the user from inside (tests/vm/delegate.sh),
# and nothing of it left after logout; elsewhere delegate is refused.
isolation() {
	local g=$1 port=$2 stack=$3 layout=$4 out rc
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	local O=(timeout 120 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1)
	local T=(timeout 300 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1)
	local conf=/etc/security/nscg.d/80-isolation.conf
	"${R[@]}" "printf '[user:tester]\nhide_processes = yes\n' >$conf; chmod 0644 $conf"
	# Another user's process, there until the checks are done.
	timeout 900 ssh "${SSHO[@]}" -p "$port" other@127.0.0.1 'sleep 1000' </dev/null >/dev/null 2>&1 &
	local other=$!
	gwait "$port" 'pgrep -u other -x sleep >/dev/null'
	out=$("${T[@]}" 'ps -e -o user= | sort -u | tr "\n" " "; test -e /proc/1 && echo sees-init' 2>&1)
	[ "$out" = "tester " ] && pass "vm/$g/hide/own-processes-only" || fail "vm/$g/hide/own-processes-only" "$out"
	out=$("${O[@]}" 'ps -e -o user= | sort -u | tr "\n" " "' 2>&1)
	grep -q root <<<"$out" && pass "vm/$g/hide/others-unchanged" || fail "vm/$g/hide/others-unchanged" "$out"
	"${R[@]}" '! grep " /proc " /proc/1/mountinfo | grep -q hidepid' && pass "vm/$g/hide/host-proc-unchanged" ||
		fail "vm/$g/hide/host-proc-unchanged"
	"${R[@]}" 'pkill -u other -x sleep'
	wait $other
	"${R[@]}" "printf '[user:tester]\ndelegate = yes\ndelegate_max_descendants = 4\ndelegate_max_depth = 2\n' >$conf"
	# What a delegated session leaves if anything: standalone, its
	# cgroups; systemd, its scope of pam_nscg's own.
	local own='/sys/fs/cgroup/nscg/user-*'
	[ "$stack" = systemd ] && own='/sys/fs/cgroup/user.slice/user-*.slice/nscg-*.scope'
	if [ "$layout" = v2 ]; then
		out=$("${T[@]}" "bash /usr/local/bin/nscg-vm-delegate vm/$g/delegate" 2>&1)
		grep -E '^(PASS|FAIL):' <<<"$out"
		grep -qE '^(PASS|FAIL):' <<<"$out" || fail "vm/$g/delegate/inside" "no answer: $out"
		local left
		left=$(sed -n 's/^leftover=//p' <<<"$out")
		gwait "$port" "n=0; for p in $left; do [ -e /proc/\$p ] && ! grep -q '^State:.*Z' /proc/\$p/status && n=1; done; [ \$n = 0 ]" &&
			pass "vm/$g/delegate/nested-and-frozen-leftovers-killed" ||
			fail "vm/$g/delegate/nested-and-frozen-leftovers-killed" "$left: $("${R[@]}" 'pgrep -a -u tester')"
		gwait "$port" "! ls -d $own >/dev/null 2>&1" &&
			pass "vm/$g/delegate/no-cgroup-left" ||
			fail "vm/$g/delegate/no-cgroup-left" "$("${R[@]}" "ls -d $own")"
		if [ "$stack" = systemd ]; then
			in_journal "$port" "pam_nscg(sshd:session): tester (uid [0-9]*) sandboxed in user-[0-9]*.slice/nscg-[0-9]*-[0-9a-f]*.scope (systemd, delegated)" &&
				pass "vm/$g/delegate/own-delegated-scope" ||
				fail "vm/$g/delegate/own-delegated-scope" "$("${R[@]}" 'journalctl -q --no-pager | grep pam_nscg | tail -3')"
		fi
		# Rootless podman, with the default bounds, in a session that
		# hides the host's processes too.
		"${R[@]}" "printf '[user:tester]\ndelegate = yes\nhide_processes = yes\n' >$conf"
		out=$("${T[@]}" "bash /usr/local/bin/nscg-vm-podman vm/$g/podman" 2>&1)
		grep -E '^(PASS|FAIL):' <<<"$out"
		grep -qE '^(PASS|FAIL):' <<<"$out" || fail "vm/$g/podman/inside" "no answer: $out"
		gwait "$port" "! ls -d $own >/dev/null 2>&1 && ! pgrep -u tester >/dev/null" &&
			pass "vm/$g/podman/nothing-left" ||
			fail "vm/$g/podman/nothing-left" "$("${R[@]}" "ls -d $own; pgrep -a -u tester")"
	else
		out=$("${T[@]}" 'cat /proc/self/cgroup' 2>&1)
		rc=$?
		[ $rc != 0 ] && ! grep -q '^[0-9]*:' <<<"$out" && pass "vm/$g/delegate/refused" || fail "vm/$g/delegate/refused" "rc $rc: $out"
		in_journal "$port" "pam_nscg(sshd:session): delegate = yes needs a pure cgroup v2 host; this one is $layout" &&
			pass "vm/$g/delegate/refusal-logged" ||
			fail "vm/$g/delegate/refusal-logged" "$("${R[@]}" 'journalctl -q --no-pager | grep pam_nscg | tail -3')"
	fi
	"${R[@]}" "rm -f $conf"
}

# Runtimes in a session of 512M and one CPU (tests/runtimes/): the view's
# mountinfo, the JVM, nproc, make and Node.js size themselves to it; on
# pure v2 guests with delegate = yes too, where the session's limits are
# read from the copies below the delegation point.
runtimes() {
	local g=$1 port=$2 layout=$3 host out
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	local T=(timeout 600 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1)
	local conf=/etc/security/nscg.d/85-runtimes.conf
	local limits='[user:tester]\nsession.memory.max = 512M\nsession.cpu.max = 100%%\nsession.pids.max = 512\n'
	host=$("${R[@]}" "$(declare -f runtime_view); runtime_view")
	local modes=plain
	[ "$layout" = v2 ] && modes="plain delegate"
	for m in $modes; do
		if [ $m = plain ]; then
			"${R[@]}" "printf '$limits' >$conf; chmod 0644 $conf"
		else
			"${R[@]}" "printf '${limits}delegate = yes\n' >$conf; chmod 0644 $conf"
		fi
		out=$("${T[@]}" 'bash /usr/local/lib/nscg-runtimes/probe.sh /usr/local/lib/nscg-runtimes "$HOME"' 2>&1)
		grep -q '^probe_done' <<<"$out" ||
			out+=" / the guest's log: $("${R[@]}" 'journalctl -q --no-pager | grep -E "pam_nscg|nscg-watch" | tail -5')"
		check_runtimes "vm/$g/runtimes-$m" "$out" "$host"
		[ $m = delegate ] && apply_mirrored "$g" "$port" "$conf"
	done
	"${R[@]}" "rm -f $conf"
	gwait "$port" '! pgrep -u tester >/dev/null' && pass "vm/$g/runtimes/nothing-left" ||
		fail "vm/$g/runtimes/nothing-left" "$("${R[@]}" 'pgrep -a -u tester')"
}

# apply_mirrored G PORT CONF: nscgctl apply keeps a delegated session's
# copies of its limits (below the delegation point) in step with the
# session's own: a held session's memory.max lowered to 384M, read back
# from all three.
apply_mirrored() {
	local g=$1 port=$2 conf=$3 out held rc
	local R=(timeout 60 ssh "${SSHO[@]}" -p "$port" root@127.0.0.1)
	local cgs='/sys/fs/cgroup/nscg/user-*/session-* /sys/fs/cgroup/user.slice/user-*.slice/nscg-*.scope'
	timeout 900 ssh "${SSHO[@]}" -p "$port" tester@127.0.0.1 'sleep 1000' </dev/null >/dev/null 2>&1 &
	held=$!
	gwait "$port" "ls -d \$(for c in $cgs; do echo \$c/user/login; done) 2>/dev/null | grep -q ."
	"${R[@]}" "sed -i 's/^session.memory.max = .*/session.memory.max = 384M/' $conf; nscgctl apply tester" >"$vm/$g.apply" 2>&1
	rc=$?
	out=$("${R[@]}" "for c in $cgs; do [ -d \$c/user ] && cat \$c/memory.max \$c/user/memory.max \$c/user/login/memory.max; done | sort | uniq -c")
	[ $rc = 0 ] && [ "$(tr -s ' ' <<<"$out")" = " 3 402653184" ] && ! grep -q "not all in step" "$vm/$g.apply" &&
		pass "vm/$g/runtimes-delegate/apply-mirrored" ||
		fail "vm/$g/runtimes-delegate/apply-mirrored" "exit $rc; $out; $(tr '\n' '|' <"$vm/$g.apply")"
	"${R[@]}" 'pkill -u tester -x sleep'
	wait $held
}

base=$((20000 + $$ % 3500 * 12)) # 12 ports a run: ssh and sshd-plain per guest
# NSCG_VM_GUESTS="systemd v2" runs only those, and NSCG_VM_STEPS="live
# isolation" only those steps after the first checks, while working; CI
# runs all.
want() { [ -z "${NSCG_VM_GUESTS:-}" ] || [[ " $NSCG_VM_GUESTS " == *" $1 "* ]]; }
step_wanted() { [ -z "${NSCG_VM_STEPS:-}" ] || [[ " $NSCG_VM_STEPS " == *" $1 "* ]]; }
want systemd && guest systemd "systemd.unified_cgroup_hierarchy=1" v2 systemd $base
want v2 && guest v2 "systemd.unified_cgroup_hierarchy=1" v2 standalone $((base + 2))
want hybrid && guest hybrid "systemd.unified_cgroup_hierarchy=0" hybrid standalone $((base + 4))
want hybrid-systemd && guest hybrid-systemd "systemd.unified_cgroup_hierarchy=0" hybrid systemd $((base + 6))
v1="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1"
want v1 && guest v1 "$v1" v1 standalone $((base + 8))
want v1-systemd && guest v1-systemd "$v1" v1 systemd $((base + 10))
[ ${#guest_times[@]} = 0 ] ||
	echo "# vm: $(printf '%s s, ' "${guest_times[@]}" | sed 's/, $//'); $(($(date +%s) - tier0)) s in all"
true
