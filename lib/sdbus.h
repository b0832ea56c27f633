/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Talking to systemd and logind over D-Bus (systemd mode, doc/design.md §6):
 * the limits as runtime unit properties, as `systemctl set-property
 * --runtime` does; transient scopes for jobs; TerminateSession at close.
 * pam_nscg writes no attribute of systemd's cgroups itself.
 *
 * libsystemd is loaded when a call needs it, not linked: login, su and
 * pamtester would otherwise load it for every login (sshd has it
 * anyway). Built without it (HAVE_SYSTEMD unset) every call fails with
 * -EOPNOTSUPP and only standalone mode works. */
#ifndef NSCG_SDBUS_H
#define NSCG_SDBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "limits.h"
#include "log.h"

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

/* systemd's sanctioned way to put a process into a cgroup of its tree,
 * for a login that is no logind session (a cron or at job): start the
 * transient scope unit (a name ending in .scope) in slice with pids[]
 * in it and the limits lim, as `systemd-run --scope` does, and wait, at
 * most timeout_ms in all, until pids[0] is in it. description is for
 * systemctl status. With delegate, the scope has Delegate=yes: what is
 * below its cgroup is the caller's to manage (delegate.h). */
int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim, bool delegate,
			unsigned timeout_ms, const struct nscg_log *log);

/* End a job scope as close does: move pid (the caller) back into the
 * unit it came from (AttachProcessesToUnit), then, with stop, stop the
 * scope; waiting at most timeout_ms for each answer. Without a unit to
 * go back to (back_to empty) the scope is left to end with the caller,
 * which must never stop its own unit. */
int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid, bool stop,
		      unsigned timeout_ms, const struct nscg_log *log);

/* Ask logind to terminate session id (every process of its scope gets
 * SIGTERM, then SIGKILL, as with KillUserProcesses=yes), waiting at most
 * timeout_ms for the answer. */
int nscg_logind_terminate(const char *id, unsigned timeout_ms,
			  const struct nscg_log *log);

#endif
