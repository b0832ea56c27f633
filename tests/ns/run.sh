#!/bin/bash
# Run test-ns with root-owned copies of the helper (and of two bad ones),
# as pam_nscg requires of the real one.
set -u
. "$(dirname "$0")/../lib.sh"
d=$(mktemp -d /tmp/nscg-helper-XXXXXX)
on_exit "rm -rf '$d'"
chmod 0755 "$d"
install -m 0755 "$BUILD/nscg-helper" "$d/nscg-helper"
install -m 0775 "$BUILD/nscg-helper" "$d/nscg-helper.gw"
install -m 0755 /bin/false "$d/nscg-helper.false"
install -d -m 0775 "$d/nscg-helper.d"
install -m 0755 "$BUILD/nscg-helper" "$d/nscg-helper.d/nscg-helper"
"$BUILD/test-ns" "$d/nscg-helper"
