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
#include <sys/types.h>

#include "cgroup.h"
#include "log.h"

/* The logind session a process is in, read off its cgroup path:
 * .../user-UID.slice/session-ID.scope, as pam_systemd puts it there. */
struct nscg_logind_session {
	char id[32]; /* the session ID, e.g. "3" or "c1" */
	uid_t uid; /* the owner, from user-UID.slice */
	char scope[48]; /* "session-ID.scope" */
	char slice[32]; /* "user-UID.slice" */
};

/* Parse the text of /proc/PID/cgroup: 1 and *out filled if the process
 * is in a logind session scope (the unified line, or name=systemd on a
 * hybrid host), 0 if not. */
int nscg_logind_parse(const char *proc_cgroup, struct nscg_logind_session *out);

/* The same for the calling process: 1, 0, or -errno. */
int nscg_logind_current(struct nscg_logind_session *out);

/* How many logind sessions uid has, closing ones and this one included,
 * or -errno. */
int nscg_logind_count_sessions(uid_t uid);

/* Whether this build can talk to systemd. */
bool nscg_have_systemd(void);

/* Set the limits of one level on a unit, at runtime. */
struct nscg_unit_limits {
	const char *unit;
	const struct nscg_limits *lim;
};

/* Set every limit of units[0..n) in one batch and wait, at most
 * timeout_ms in all, until systemd has answered each and applied them.
 * A unit with no limit set is left alone. Logs and returns -errno on an
 * error, a refusal or the timeout (-ETIMEDOUT). */
int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n,
		       unsigned timeout_ms, const struct nscg_log *log);

/* Ask logind to terminate session id (every process of its scope gets
 * SIGTERM, then SIGKILL, as with KillUserProcesses=yes), waiting at most
 * timeout_ms for the answer. */
int nscg_logind_terminate(const char *id, unsigned timeout_ms,
			  const struct nscg_log *log);

#endif
