/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vlog(const struct nscg_log *log, int prio, int err,
		 const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	if (!log || !log->emit || prio > log->max_prio)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (err < 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
			 strerror(-err));
	log->emit(log->ctx, prio, msg);
}

void nscg_log(const struct nscg_log *log, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(log, prio, 0, fmt, ap);
	va_end(ap);
}

int nscg_log_errno(const struct nscg_log *log, int prio, int err,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(log, prio, err, fmt, ap);
	va_end(ap);
	return err;
}

void nscg_log_stderr(void *prefix, int prio, const char *msg)
{
	(void)prio;
	fprintf(stderr, "%s: %s\n", (const char *)prefix, msg);
}
