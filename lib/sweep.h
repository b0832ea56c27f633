/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sweep: finding standalone sessions nobody will close and finishing
 * them, so that nothing is left behind when a close could not finish or
 * its caller died.
 *
 * A session cgroup (<parent>/user-UID/session-ID, in any hierarchy: under
 * load the hierarchies empty at different moments) is
 *  - live while its record's opener runs and its close has not given up,
 *    or, without a record, while it holds a process;
 *  - abandoned otherwise: its processes are killed if its record says
 *    kill_on_close, and its cgroups and record are removed once empty.
 * A record whose session cgroup is gone everywhere is removed. */
#ifndef NSCG_SWEEP_H
#define NSCG_SWEEP_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "log.h"

/* What a sweep did, summed over its calls. */
struct nscg_sweep_stats {
	unsigned removed; /* sessions finished and removed (or, dry run, to be) */
	unsigned stuck; /* abandoned, but processes survived or removal failed */
	unsigned busy; /* uids skipped: their lock was busy */
};

struct nscg_sweep_opts {
	bool dry_run; /* log what would be done, do nothing */
	unsigned kill_timeout_ms; /* per abandoned session */
	unsigned lock_timeout_ms; /* per uid; 0: skip a uid whose lock is busy */
	unsigned max_users; /* nscg_sweep_all: at most this many; 0: all */
	unsigned budget_ms; /* nscg_sweep_all: no new uid after this; 0: none */
	struct nscg_sweep_stats *stats; /* NULL: not counted */
};

/* Sweep the sessions of uid under parent. No lock is needed: a session
 * cgroup is made after its record (so one without a record is never
 * being built), session names are never reused, and only an abandoned
 * session is touched. Returns the number of live sessions, or -errno. */
int nscg_sweep_user(const struct nscg_host *host, const char *parent, uid_t uid,
		    const struct nscg_sweep_opts *o, const struct nscg_log *log);

/* The number of session cgroups in the user cgroup cg (one listing). */
int nscg_count_sessions(const struct nscg_host *host, const struct nscg_cgroup *cg);

/* At a login of uid: the number of the uid's live
 * sessions, for max_sessions. A user with few sessions is swept in full,
 * which is cheap; one with many (hundreds of logins at once) at most
 * once per NSCG_SWEEP_INTERVAL_S, or when max_sessions would refuse the
 * login, and otherwise counted by listing, so that a login's cost stays
 * flat. Returns the count, or -errno. */
int nscg_sweep_user_at_login(const struct nscg_host *host, const char *parent, uid_t uid,
			     uint64_t max_sessions, const struct nscg_log *log);

/* The user's last logout: remove parent/user-UID in every hierarchy if it
 * holds no session any more (-EBUSY otherwise, which is fine), and then,
 * unless logind still has sessions of the uid, the user's private /tmp
 * (usertmp.h). No lock is needed: a login making its session there
 * meanwhile makes the user cgroup again. */
int nscg_remove_user_cgroup(const struct nscg_host *host, const char *parent, uid_t uid);

/* The user's private /tmp goes if logind has at most max_logind sessions
 * of uid (in systemd mode the closing one counts itself). */
void nscg_release_user_tmp(uid_t uid, int max_logind);

/* Sweep every uid that has a user cgroup under parent or a record, and
 * remove the user cgroups left empty. Returns the
 * number of uids swept, or -errno. */
int nscg_sweep_all(const struct nscg_host *host, const char *parent,
		   const struct nscg_sweep_opts *o, const struct nscg_log *log);

/* What a login runs: nscg_sweep_all bounded (a few users, busy locks
 * skipped, short kill waits) and at most once per NSCG_SWEEP_INTERVAL_S
 * on the whole machine, so that a session whose close could not finish
 * is finished without waiting for that user's next login. */
#define NSCG_SWEEP_INTERVAL_S 10
void nscg_sweep_rate_limited(const struct nscg_host *host, const char *parent,
			     const struct nscg_log *log);

#endif
