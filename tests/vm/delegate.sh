#!/bin/bash
# Runs as the test user inside a guest session with delegate = yes
# (delegate_max_descendants = 4, delegate_max_depth = 2, session
# memory.max 128M); prints PASS:/FAIL: lines. $1 = the name prefix.
prefix=$1
# shellcheck source=tests/vm/guest.sh
. /usr/local/lib/nscg-vm-guest.sh
C=/sys/fs/cgroup
me=$(id -u)
# The watcher moves the login's processes into the subtree as they come.
wait_until '[ "$(cat /proc/self/cgroup)" = "0::/login" ]'
ok in-login-leaf 'detail=$(cat /proc/self/cgroup); test "$detail" = "0::/login"'
ok subtree-is-mine 'test "$(stat -c %u $C $C/cgroup.procs $C/cgroup.subtree_control | sort -u)" = "$me"'
# The session's limits are read where a runtime looks: at the root of
# the view and in the login's own cgroup (copies, root's files both).
ok limits-read-at-root 'detail=$(cat $C/memory.max $C/pids.max | tr "\n" " "); test "$detail" = "134217728 64 "'
ok limits-read-in-login 'detail=$(cat $C/login/memory.max $C/login/pids.max | tr "\n" " "); test "$detail" = "134217728 64 "'
ok login-limits-not-mine '! echo max 2>/dev/null >$C/login/memory.max && ! echo max 2>/dev/null >$C/login/pids.max'
ok limits-not-mine 'detail=$(stat -c "%n %u" $C/memory.max $C/pids.max $C/cgroup.max.descendants $C/cgroup.max.depth); ! grep -qw "$me" <<<"$detail"'
ok controllers-below 'detail=$(cat $C/cgroup.subtree_control); grep -qw memory <<<"$detail" && grep -qw pids <<<"$detail"'
# A cgroup of the user's own, with a memory limit the kernel enforces.
ok mkdir-child 'mkdir $C/job'
ok child-memory-limit 'echo 32M >$C/job/memory.max && test "$(cat $C/job/memory.max)" = 33554432'
ok child-pids-limit 'echo 8 >$C/job/pids.max'
ok move-into-child 'sh -c "echo \$\$ >$C/job/cgroup.procs && grep -qx 0::/job /proc/self/cgroup"'
ok child-limit-enforced 'sh -c "echo \$\$ >$C/job/cgroup.procs; exec tail /dev/zero" 2>/dev/null; detail="exit $?"; test "$detail" = "exit 137"'
ok child-oom-counted 'detail=$(cat $C/job/memory.events); grep -q "^oom_kill [1-9]" <<<"$detail"'
# Raising the child's limit does not raise the session's: 128M still holds.
ok session-limit-holds 'echo max >$C/job/memory.max && sh -c "echo \$\$ >$C/job/cgroup.procs; exec tail /dev/zero" 2>/dev/null; test $? = 137'
ok cannot-raise-session-limit '! echo max 2>/dev/null >$C/memory.max && ! echo max 2>/dev/null >$C/pids.max'
ok cannot-raise-bounds '! echo 1000 2>/dev/null >$C/cgroup.max.descendants && ! echo 100 2>/dev/null >$C/cgroup.max.depth'
# Nothing of the host is in sight, nor the root caller's cgroup.
ok nothing-above '! ls -d $C/../user-* $C/../caller 2>/dev/null | grep -q .'
# The login's caller: the first of root's processes up from here.
caller=$$
while [ "$caller" -gt 1 ] && [ "$(stat -c %u /proc/$caller)" != 0 ]; do
	caller=$(ps -o ppid= -p "$caller" | tr -d " ")
done
ok caller-is-roots 'detail=$(ps -o user=,args= -p $caller); test "$caller" -gt 1'
ok caller-not-movable '! echo "$caller" 2>/dev/null >$C/job/cgroup.procs && ! echo "$caller" 2>/dev/null >$C/cgroup.procs'
ok caller-not-seen 'detail=$(cat /proc/$caller/cgroup); test "$detail" = "0::/../caller"'
ok cannot-move-out '! echo $$ 2>/dev/null >$C/../cgroup.procs'
# The bounds: 4 cgroups of the user's own (job is one), 2 levels.
ok descendants-bounded 'mkdir $C/a $C/b $C/c && ! mkdir $C/d 2>/dev/null'
ok depth-bounded 'rmdir $C/c && mkdir $C/a/x && ! mkdir $C/a/x/y 2>/dev/null'
# Something to outlive the login in a nested cgroup of the user's own:
# gone with the rest at logout.
# (Within the bound: a, b and these two.)
rmdir $C/a/x $C/job
ok nested-for-later 'mkdir $C/b/keep'
sh -c "echo \$\$ >$C/b/keep/cgroup.procs; exec sleep 1000" </dev/null >/dev/null 2>&1 &
left=$!
# ... and one in a cgroup the user froze.
ok freeze-own-cgroup 'mkdir $C/a/ice && echo 1 >$C/a/ice/cgroup.freeze'
sh -c "echo \$\$ >$C/a/ice/cgroup.procs; exec sleep 1000" </dev/null >/dev/null 2>&1 &
ice=$!
wait_until 'grep -q "frozen 1" $C/a/ice/cgroup.events && grep -q . $C/a/ice/cgroup.procs'
ok frozen-holds-leftover 'grep -qx "$ice" $C/a/ice/cgroup.procs && grep -q "frozen 1" $C/a/ice/cgroup.events'
echo "leftover=$left $ice"
