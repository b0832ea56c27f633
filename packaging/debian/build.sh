#!/bin/bash
# build.sh VERSION OUT.deb: build the binary package libpam-nscg from a
# clean copy of the tree in build/deb-src, with dpkg-buildpackage, and
# leave it at OUT.deb. (`make deb` runs this.)
set -eu
version=$1 out=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$top/build/deb-src
src=$work/pam-nscg-$version

"$top/packaging/copy-tree.sh" "$src"
cp -a "$top/packaging/debian" "$src/debian"
rm -f "$src/debian/build.sh"
have=$(cd "$src" && dpkg-parsechangelog -SVersion)
if [ "$have" != "$version" ]; then
	echo "packaging/debian/changelog is at $have, the Makefile at $version" >&2
	exit 1
fi
# Nothing of a calling make (SANITIZE=1, -j) leaks into the package build.
unset MAKEFLAGS MFLAGS MAKELEVEL
(cd "$src" && dpkg-buildpackage -b -us -uc)
cp "$work/$(basename "$out")" "$out"
echo "$out"
