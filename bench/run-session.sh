#!/bin/bash
# Open+close latency through libpam, 1,000 sessions, pam_nscg beside a
# pam_permit-only stack in the same run (bench-session). As root.
set -eu
. "$(dirname "$0")/common.sh"
bench_fixture session 'session.memory.max = 1G
session.pids.max = 512
user.cpu.max = 200%'
bench_services
${WRAP:-} "$build/bench-session" nscg-bench-base-$$ nscg-bench-nscg-$$ "$u" "${1:-1000}"
