#!/bin/bash
# build.sh VERSION OUT.rpm: build the binary RPM of pam_nscg with rpmbuild
# -bb under build/rpm, from a tarball of a clean copy of the tree, and
# check it landed at OUT.rpm. (`make rpm` runs this.)
set -eu
version=$1 out=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/packaging/rpm/pam_nscg.spec
work=$top/build/rpm
name=pam_nscg-$version

have=$(rpmspec -q --srpm --qf '%{version}' "$spec")
if [ "$have" != "$version" ]; then
	echo "packaging/rpm/pam_nscg.spec is at $have, the Makefile at $version" >&2
	exit 1
fi
rm -rf "$work"
mkdir -p "$work/SOURCES"
"$top/packaging/copy-tree.sh" "$work/$name"
tar -C "$work" -czf "$work/SOURCES/$name.tar.gz" "$name"
rm -rf "$work/${name:?}"
# Nothing of a calling make (SANITIZE=1, -j) leaks into the package build.
unset MAKEFLAGS MFLAGS MAKELEVEL
# --nodeps: on a Debian host the build dependencies are Debian packages
# (tests/deps.sh), which the RPM database does not know.
rpmbuild -bb --nodeps --define "_topdir $work" "$spec"
[ -f "$out" ] || { echo "rpmbuild made no $out" >&2; exit 1; }
echo "$out"
