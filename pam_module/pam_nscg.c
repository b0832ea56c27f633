/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_nscg: PAM glue only. Until the session sandbox lands, the module
 * parses its arguments, logs what it would do at debug level and returns
 * PAM_IGNORE, so it can sit in a stack without changing any login. */
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <string.h>
#include <syslog.h>

#include "log.h"
#include "policy.h"

#define ARG_DEBUG 0x1u

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

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	struct args a;
	struct nscg_log log = {
		.emit = emit_syslog, .ctx = pamh, .max_prio = LOG_INFO,
	};

	(void)flags;
	parse_args(pamh, argc, argv, &a);
	if (a.flags & ARG_DEBUG)
		log.max_prio = LOG_DEBUG;
	nscg_log(&log, LOG_DEBUG,
		 "session sandboxing is not implemented yet; policy %s not applied",
		 a.conf);
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
