/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One logging sink for all code in lib/: the PAM module routes it to
 * pam_syslog, the tools to stderr. Priorities are syslog's (LOG_ERR...). */
#ifndef NSCG_LOG_H
#define NSCG_LOG_H

#include <syslog.h>

struct nscg_log {
	void (*emit)(void *ctx, int prio, const char *msg);
	void *ctx;
	int max_prio; /* messages above this priority (less severe) are dropped */
};

/* Format and emit one message; a NULL log or emit drops it. */
void nscg_log(const struct nscg_log *log, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log with ": strerror(-err)" appended and return err (a -errno value). */
int nscg_log_errno(const struct nscg_log *log, int prio, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A sink that writes "PREFIX: message" lines to stderr (tools only). */
void nscg_log_stderr(void *prefix, int prio, const char *msg);

#endif
