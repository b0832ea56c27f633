#!/bin/bash
# Install what building and testing pam_nscg needs, from Debian's packages.
# Quick when everything is already there.
set -eu
pkgs=(build-essential pkg-config clang libclang-rt-14-dev libpam0g-dev
      libcap-ng-dev libiniparser-dev libsystemd-dev pamtester valgrind passwd
      openssh-server openssh-client perl python3 procps dbus-daemon
      mandoc debhelper dpkg-dev fakeroot lintian libpam-runtime rpm
      mmdebstrap qemu-system-x86 e2fsprogs at libpam-cgfs prometheus
      openjdk-17-jdk-headless nodejs)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tests/deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# No daemon a package brings (sshd, atd, prometheus) starts on install:
# the tests start what they need, on 127.0.0.1.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# prometheus is here for promtool, which checks nscgctl metrics; a JVM
# (javac builds its probe) and Node.js for the runtimes tier.
# libpam-cgfs (bench/run-login.sh compares with it) puts pam_cgfs into every
# login's common-session; the benchmark uses it through a service of its own.
case " ${missing[*]} " in
*" libpam-cgfs "*) [ ! -e /usr/share/pam-configs/cgfs ] || pam-auth-update --disable cgfs ;;
esac
