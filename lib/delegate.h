/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* delegate = yes, standalone on a pure cgroup v2 host (doc/design.md §5): a
 * subtree of the session's cgroup that its user may manage, for rootless
 * podman and buildah. Inside the session's cgroup NAME, whose limits
 * bound all of it:
 *
 *   NAME/caller      root's: the root process that opened the session,
 *                    where no process of the user can be moved from or to
 *   NAME/user        the user's (the delegation point): the directory and
 *                    the files the kernel lists in /sys/kernel/cgroup/delegate
 *                    are chowned, never a limit or cgroup.max.*; the root of
 *                    the session's cgroup namespace
 *   NAME/user/login  root's: where the session's watcher puts the login's
 *                    processes as the caller forks them
 *
 * NAME/user and NAME/user/login carry NAME's limits too, for the eyes of
 * the programs inside (nscg_delegate_mirror).
 *
 * The kernel lets the user move a process only between cgroups under one
 * whose cgroup.procs they may write (the common ancestor rule) and, with
 * nsdelegate, within their cgroup namespace: so they can move their own
 * processes anywhere under NAME/user, and nothing into or out of it. */
#ifndef NSCG_DELEGATE_H
#define NSCG_DELEGATE_H

#include <sys/types.h>

#include "cgroup.h"
#include "log.h"

/* The kernel release delegation needs: migration permission checked with
 * the credentials of who opened cgroup.procs (5.16), so that the root
 * watcher without capabilities may move processes into root's cgroups
 * and the user's descriptors stay the user's. */
#define NSCG_DELEGATE_KERNEL_MAJOR 5
#define NSCG_DELEGATE_KERNEL_MINOR 16

#define NSCG_DELEGATE_CALLER "caller"
#define NSCG_DELEGATE_USER "user"
#define NSCG_DELEGATE_LOGIN "login"

/* O_PATH fds in the unified hierarchy; -1 where not made. */
struct nscg_delegation {
	int hier; /* the unified hierarchy's index in the host */
	int caller, user;
};

void nscg_delegation_init(struct nscg_delegation *d);
void nscg_delegation_close(struct nscg_delegation *d);

/* Whether this host can delegate: a pure v2 layout, Linux 5.16 or later,
 * and the kernel's list of delegatable files. 0, or -EOPNOTSUPP with a
 * log line saying why not. */
int nscg_delegate_check(const struct nscg_host *host, const struct nscg_log *log);

/* Make the three cgroups in the session's cgroup sess, all root's yet,
 * bound NAME/user to descendants cgroups of the user's own (login aside)
 * and depth levels, move the calling process into it (where it is to
 * make the session's cgroup namespace, and which it leaves then:
 * nscg_ns_enter_session's leave_to), and enable the controllers below
 * sess, which holds no process by then. On failure what was made stays,
 * for the session's removal to take. */
int nscg_delegate_make(const struct nscg_host *host, const struct nscg_cgroup *sess,
		       unsigned descendants, unsigned depth, struct nscg_delegation *d,
		       const struct nscg_log *log);

/* Once the caller has left NAME/user, never before (the user could move
 * it while it is in a cgroup of theirs): give NAME/user to uid:gid, and
 * enable the controllers below it, so that the user's cgroups have them
 * at once; the session's limits lim are mirrored first (of the session's
 * cgroup sess). The caller is in the session's cgroup namespace by then,
 * whose root's limit files the kernel keeps from it (nsdelegate): it
 * writes them from host_cgns, its own cgroup namespace, and comes back.
 * -errno with a log line; the session is then an error. */
int nscg_delegate_hand_over(const struct nscg_host *host, const struct nscg_delegation *d,
			    const struct nscg_cgroup *sess, const struct nscg_limits *lim,
			    int host_cgns, uid_t uid, gid_t gid, const struct nscg_log *log);

/* The session's limits lim again on NAME/user and NAME/user/login, in
 * files that stay root's: the root of the session's cgroup namespace,
 * and the cgroup of the login's processes, read what bounds them, as a
 * container's do, for the runtimes that size themselves from there (a
 * JVM reads its own cgroup's files, not its parents'). The bound itself
 * is NAME's. plan as nscg_cgroup_apply_plan's (NULL at login). A
 * session without delegation has neither: 0, nothing written. */
int nscg_delegate_mirror(const struct nscg_host *host, const struct nscg_cgroup *sess,
			 const struct nscg_limits *lim, struct nscg_apply_plan *plan,
			 const struct nscg_log *log);

/* Kill what a delegated session's cgroup sess holds below it: all of
 * NAME/user, and in NAME/caller all but the calling process; waiting at
 * most timeout_ms for each. 0 where sess has neither (no delegation). */
int nscg_delegate_kill(const struct nscg_host *host, const struct nscg_cgroup *sess,
		       unsigned timeout_ms);

#endif
