#!/bin/bash
# copy-tree.sh DEST: a clean copy of the source tree in DEST, for the
# package builds: in a git checkout the files git tracks or would track
# (as they are in the working tree), else everything but build output.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
rm -rf "$dest"
mkdir -p "$dest"
cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f" # not a deleted file
		done | tar --null -T - -cf - | tar -xf - -C "$dest"
else
	tar --exclude=./build --exclude=./build-san -cf - . | tar -xf - -C "$dest"
fi
