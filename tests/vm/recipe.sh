# shellcheck shell=bash
# The guest image recipe: a change here rebuilds the cached image.
SUITE=bookworm
MIRROR=${NSCG_VM_MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd-sysv,udev,openssh-server,linux-image-amd64,initramfs-tools,libpam0g,libcap-ng0,libiniparser1,dbus,libpam-systemd,procps,iproute2,ifupdown,isc-dhcp-client,perl-base,at,podman,crun,uidmap,catatonit,busybox-static,openjdk-17-jre-headless,nodejs,make
