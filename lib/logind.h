/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What systemd and logind tell without being asked: whether systemd runs
 * this machine, which logind session a process is in, who owns and leads
 * it, how many sessions a user has. All of it is read from /proc and
 * /run/systemd, as sd-login(3) reads it, so that none of it needs
 * libsystemd (which talking to systemd does: sdbus.h). */
#ifndef NSCG_LOGIND_H
#define NSCG_LOGIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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
 * hybrid host), 0 if not. Only slices may come before the scope, as
 * sd_pid_get_session(3) reads it: a look-alike path inside a unit (a
 * user's delegated subtree under user@UID.service) is no session. */
int nscg_logind_parse(const char *proc_cgroup, struct nscg_logind_session *out);

/* The same for the calling process, confirmed by logind's record of the
 * session (/run/systemd/sessions/ID), which gives uid and leader: 1, 0
 * (no logind session, or none logind knows), or -errno. */
int nscg_logind_current(struct nscg_logind_session *out);

/* How many logind sessions uid has, closing ones and this one included
 * (SESSIONS= of /run/systemd/users/UID; 0 without that file), or -errno. */
int nscg_logind_count_sessions(uid_t uid);

/* Whether systemd runs this machine (sd_booted(3)): then pam_nscg makes
 * no cgroup of its own, and a login that is no logind session (cron,
 * at) goes into a transient scope of its own. */
bool nscg_systemd_booted(void);

/* The unit pid is in (sd_pid_get_unit(3)): the first component of its
 * systemd cgroup path that is no slice, into buf; -ENODATA if none. */
int nscg_pid_unit(pid_t pid, char *buf, size_t len);

/* Whether pid is in unit itself (its systemd cgroup path ends there). */
bool nscg_pid_in_unit(pid_t pid, const char *unit);

#endif
