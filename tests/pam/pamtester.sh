#!/bin/bash
# The module through the real libpam stack with pamtester, as root: a PAM
# service file of our own in /etc/pam.d, the module by absolute path.
set -u
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { fail pamtester/root "needs root"; exit 1; }
command -v pamtester >/dev/null || { fail pamtester/installed "pamtester missing"; exit 1; }

svc=nscg-test-$$
on_exit "rm -f /etc/pam.d/$svc"
cat >/etc/pam.d/$svc <<EOC
auth     required pam_permit.so
account  required pam_permit.so
session  required $BUILD/pam_nscg.so debug conf=/nonexistent/nscg.conf
session  required pam_permit.so
EOC
expect pamtester/open-close 0 pamtester -v "$svc" root open_session close_session
contains pamtester/open-close-msg "$OUT$ERR" "successfully"

# An unknown argument is logged, never a reason to refuse the session.
sed -i 's/ debug / debug no-such-arg /' /etc/pam.d/$svc
expect pamtester/unknown-arg 0 pamtester "$svc" root open_session close_session

# The module answers PAM_IGNORE: alone in the session stack it decides
# nothing, so libpam refuses (no module said yes).
cat >/etc/pam.d/$svc <<EOC
session  required $BUILD/pam_nscg.so
EOC
expect pamtester/ignore-alone 1 pamtester "$svc" root open_session
contains pamtester/ignore-alone-msg "$ERR" "Permission denied"
