/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A sandboxed session: the steps of open_session and close_session, with
 * no PAM in sight, so the module is glue and the steps can be tested on
 * their own. Standalone mode (doc/design.md §3) makes its own cgroups;
 * systemd mode (§6) uses logind's session scope, or a transient scope
 * for a job (session-internal.h). */
#ifndef NSCG_SESSION_H
#define NSCG_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "log.h"
#include "policy.h"

struct nscg_open_req {
	const char *conf; /* NULL: NSCG_CONF_PATH */
	const char *user;
	const char *service;
	const char *tty, *rhost; /* PAM_TTY and PAM_RHOST, for the record; may be NULL */
	unsigned helper_timeout_ms; /* 0: 10 s */
	unsigned bus_timeout_ms; /* 0: NSCG_BUS_TIMEOUT_MS */
};

/* How long systemd and logind get to answer, in all, per request. */
#define NSCG_BUS_TIMEOUT_MS 5000

/* Why an open did not sandbox the login. */
enum nscg_open_result {
	NSCG_OPEN_SANDBOXED,
	NSCG_OPEN_SKIPPED, /* exempt, skipped service or nested login */
	NSCG_OPEN_REFUSED, /* max_sessions reached */
	NSCG_OPEN_FAILED, /* see on_error */
};

/* A sandboxed session, from open to close (opaque). */
struct nscg_session;

/* Open a session for req. On NSCG_OPEN_SANDBOXED *out holds the session
 * (the caller is in its cgroup and namespaces). On NSCG_OPEN_FAILED
 * *on_error says what the login gets (from the policy when it could be
 * read, else deny) and nothing is left behind. */
enum nscg_open_result nscg_session_open(const struct nscg_open_req *req,
					const struct nscg_log *log,
					struct nscg_session **out,
					enum nscg_on_error *on_error);

/* The CPUs the session's limits let it use at once, for programs that
 * count CPUs and not quotas (export_cpus): the smallest of
 * session.cpu.max and user.cpu.max in whole CPUs, rounded up as a JVM
 * rounds them, where that is fewer than the CPUs its affinity (its
 * cpuset) offers; 0 where nothing holds it below those, or the policy
 * says no. The module puts it in the PAM environment as OMP_NUM_THREADS
 * (which GNU nproc and OpenMP honour) unless that is there already. */
unsigned nscg_session_cpus(const struct nscg_session *s);

/* Close: back to the caller's namespaces and cgroup, log the usage, kill
 * what is left if the policy says so, remove the cgroups; in systemd
 * mode, ask logind to terminate the session instead of killing, and
 * remove nothing. s stays for nscg_session_free. */
int nscg_session_close(struct nscg_session *s, const struct nscg_log *log);

/* Close s without killing what runs in it: for a session opened but not
 * kept (its login goes on unconfined or not at all), which must not be
 * ended as a logout is (in systemd mode that would terminate the login). */
int nscg_session_undo(struct nscg_session *s, const struct nscg_log *log);

/* Free s without touching the system (for a PAM handle torn down in a
 * process that did not open the session). */
void nscg_session_free(struct nscg_session *s);

#endif
