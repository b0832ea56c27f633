/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd mode (DESIGN.md §6): the login is a systemd-logind session, so
 * its cgroups are systemd's. pam_nscg creates none there and writes no
 * cgroup attribute; it asks systemd to set the limits as runtime unit
 * properties over D-Bus, as `systemctl set-property --runtime` does, and
 * asks logind to terminate the session at close.
 *
 * Recognising a logind session needs no libsystemd; talking to systemd
 * does: built without it (HAVE_SYSTEMD unset), the bus calls fail with
 * -EOPNOTSUPP and only standalone mode works. */
#ifndef NSCG_SYSTEMD_H
#define NSCG_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "log.h"

/* The logind session a process is in, read off its cgroup path:
 * .../user-UID.slice/session-ID.scope, as pam_systemd puts it there. */
struct nscg_logind_session {
	char id[32]; /* the session ID, e.g. "3" or "c1" */
	uid_t uid; /* the owner */
	pid_t leader; /* the process logind registered it for; 0: unknown */
	char scope[48]; /* "session-ID.scope" */
	char slice[32]; /* "user-UID.slice" */
};

/* Parse the text of /proc/PID/cgroup: 1 and *out filled if the process
 * is in a logind session scope (the unified line, or name=systemd on a
 * hybrid host), 0 if not. */
int nscg_logind_parse(const char *proc_cgroup, struct nscg_logind_session *out);

/* The same for the calling process: 1, 0, or -errno. Built with
 * libsystemd, logind's own view must agree (sd_pid_get_session, which
 * refuses look-alike paths inside a user's delegated subtree), and uid
 * and leader come from logind. */
int nscg_logind_current(struct nscg_logind_session *out);

/* How many logind sessions uid has, closing ones and this one included,
 * or -errno. */
int nscg_logind_count_sessions(uid_t uid);

/* Whether this build can talk to systemd. */
bool nscg_have_systemd(void);

/* Set the limits of one level on a unit, at runtime. With reset, the
 * properties the policy leaves unset are sent too, as "no limit": for a
 * unit that outlives the session (the user's slice keeps its runtime
 * properties until reboot), so that a limit taken out of the policy goes. */
struct nscg_unit_limits {
	const char *unit;
	const struct nscg_limits *lim;
	bool reset;
};

/* Set the limits of units[0..n) in one batch and wait, at most
 * timeout_ms in all, until systemd has answered each and applied them.
 * A unit with nothing to set (and no reset) is left alone. Logs and
 * returns -errno on an error reply, a lost bus or the timeout
 * (-ETIMEDOUT). */
int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n,
		       unsigned timeout_ms, const struct nscg_log *log);

/* Whether systemd runs this machine (sd_booted(3)): then pam_nscg makes
 * no cgroup of its own, and a login that is no logind session (cron,
 * at) goes into a transient scope of its own. */
bool nscg_systemd_booted(void);

/* systemd's sanctioned way to put a process into a cgroup of its tree,
 * for a login that is no logind session (a cron or at job): start the
 * transient scope unit (a name ending in .scope) in slice with pids[]
 * in it and the limits lim, as `systemd-run --scope` does, and wait, at
 * most timeout_ms in all, until pids[0] is in it. description is for
 * systemctl status. */
int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim,
			unsigned timeout_ms, const struct nscg_log *log);

/* End a job scope as close does: move pid (the caller) back into the
 * unit it came from (AttachProcessesToUnit), then stop the scope;
 * waiting at most timeout_ms for each answer. Without a unit to go back
 * to (back_to empty) the scope is left to end with the caller, which
 * must never stop its own unit. */
int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid,
		      unsigned timeout_ms, const struct nscg_log *log);

/* The unit pid is in (sd_pid_get_unit(3)), into buf; -errno if none. */
int nscg_sd_pid_unit(pid_t pid, char *buf, size_t len);

/* Ask logind to terminate session id (every process of its scope gets
 * SIGTERM, then SIGKILL, as with KillUserProcesses=yes), waiting at most
 * timeout_ms for the answer. */
int nscg_logind_terminate(const char *id, unsigned timeout_ms,
			  const struct nscg_log *log);

#endif
