/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_nscg: PAM glue only. The session steps live in lib/session.c; this
 * file reads the module arguments and PAM items, maps results to PAM
 * return codes and keeps the session between open and close with
 * pam_set_data. It logs only through pam_syslog and keeps no globals. */
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "session.h"

#define ARG_DEBUG 0x1u
#define DATA_KEY "pam_nscg_session"

struct args {
	unsigned flags;
	const char *conf;
};

static void emit_syslog(void *ctx, int prio, const char *msg)
{
	pam_syslog((pam_handle_t *)ctx, prio, "%s", msg);
}

/* Module arguments: debug, conf=PATH. Unknown ones are logged, not fatal,
 * as pam_limits does: a typo must not lock everybody out. */
static void parse_args(pam_handle_t *pamh, int argc, const char **argv,
		       struct args *a)
{
	a->flags = 0;
	a->conf = NSCG_CONF_PATH;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "debug"))
			a->flags |= ARG_DEBUG;
		else if (!strncmp(argv[i], "conf=", 5) && argv[i][5] == '/')
			a->conf = argv[i] + 5;
		else
			pam_syslog(pamh, LOG_ERR, "unknown module argument: %s",
				   argv[i]);
	}
}

/* Runs at pam_end and wherever the data is replaced: it only releases
 * memory and fds, because it also runs in processes (the user's shell
 * before exec, a forked child) that must not touch the session. */
static void cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	nscg_session_free(data);
}

/* The session's CPU budget for the programs that count CPUs
 * (nscg_session_cpus): OMP_NUM_THREADS in the PAM environment, which the
 * login passes on to the user's shell, unless it holds one already or
 * the caller's own environment does (su without -, which passes it on
 * too). An aid, not a limit: a failure is logged and the login goes on. */
static void export_cpus(pam_handle_t *pamh, unsigned cpus)
{
	char var[40];

	if (!cpus || pam_getenv(pamh, "OMP_NUM_THREADS") || getenv("OMP_NUM_THREADS"))
		return;
	snprintf(var, sizeof(var), "OMP_NUM_THREADS=%u", cpus);
	if (pam_putenv(pamh, var) != PAM_SUCCESS)
		pam_syslog(pamh, LOG_WARNING, "cannot set %s in the session's environment", var);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	struct nscg_log log = {
		.emit = emit_syslog, .ctx = pamh, .max_prio = LOG_INFO,
	};
	const char *user = NULL, *service = NULL, *tty = NULL, *rhost = NULL;
	struct nscg_session *s = NULL;
	enum nscg_on_error on_error;
	struct args a;

	(void)flags;
	parse_args(pamh, argc, argv, &a);
	if (a.flags & ARG_DEBUG)
		log.max_prio = LOG_DEBUG;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS ||
	    !user) {
		pam_syslog(pamh, LOG_ERR, "no user name");
		return PAM_SESSION_ERR;
	}
	(void)pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	(void)pam_get_item(pamh, PAM_TTY, (const void **)&tty);
	(void)pam_get_item(pamh, PAM_RHOST, (const void **)&rhost);
	const void *old = NULL;
	if (pam_get_data(pamh, DATA_KEY, &old) == PAM_SUCCESS && old) {
		/* Opening again would lose the first session's state. */
		pam_syslog(pamh, LOG_WARNING, "a session is already open on this handle");
		return PAM_IGNORE;
	}
	struct nscg_open_req req = { .conf = a.conf, .user = user, .service = service,
				     .tty = tty, .rhost = rhost };
	/* What the session makes (records, cgroups, directories) gets its
	 * own modes, not a mask the caller chose: su runs with the
	 * invoker's, and a record of mode 0000 is one the session's watcher,
	 * root's but without capabilities, cannot read. The caller is
	 * single-threaded (session.c refuses others), so the mask can be
	 * set and put back. */
	mode_t mask = umask(022);
	enum nscg_open_result res = nscg_session_open(&req, &log, &s, &on_error);
	umask(mask);
	switch (res) {
	case NSCG_OPEN_SANDBOXED:
		if (pam_set_data(pamh, DATA_KEY, s, cleanup) != PAM_SUCCESS) {
			/* Undone, not ended: on_error may let the login in. */
			(void)nscg_session_undo(s, &log);
			nscg_session_free(s);
			pam_syslog(pamh, LOG_ERR, "cannot keep the session state");
			return on_error == NSCG_ON_ERROR_ALLOW ? PAM_IGNORE : PAM_SESSION_ERR;
		}
		export_cpus(pamh, nscg_session_cpus(s));
		return PAM_SUCCESS;
	case NSCG_OPEN_SKIPPED:
		return PAM_IGNORE;
	case NSCG_OPEN_REFUSED:
		return PAM_PERM_DENIED;
	case NSCG_OPEN_FAILED:
		break;
	}
	if (on_error == NSCG_ON_ERROR_ALLOW) {
		pam_syslog(pamh, LOG_WARNING,
			   "sandboxing failed for %s; on_error = allow lets the login in unconfined",
			   user);
		return PAM_IGNORE;
	}
	pam_syslog(pamh, LOG_ERR, "sandboxing failed for %s; on_error = deny refuses the login", user);
	return PAM_SESSION_ERR;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	struct nscg_log log = {
		.emit = emit_syslog, .ctx = pamh, .max_prio = LOG_INFO,
	};
	const void *data = NULL;
	struct args a;

	(void)flags;
	parse_args(pamh, argc, argv, &a);
	if (a.flags & ARG_DEBUG)
		log.max_prio = LOG_DEBUG;
	if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS || !data)
		return PAM_IGNORE;
	/* systemd-user closes as the user: nothing it could undo. */
	if (geteuid() != 0)
		return PAM_IGNORE;
	mode_t mask = umask(022); /* as at open */
	int r = nscg_session_close((struct nscg_session *)data, &log);
	umask(mask);
	/* Replacing the data runs cleanup on the old: the state is freed. */
	(void)pam_set_data(pamh, DATA_KEY, NULL, NULL);
	return r < 0 ? PAM_SESSION_ERR : PAM_SUCCESS;
}
