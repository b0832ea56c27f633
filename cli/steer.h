/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What nscgctl changes in live sessions (steer.c). */
#ifndef NSCG_STEER_H
#define NSCG_STEER_H

#include <stdbool.h>

#include "cgroup.h"
#include "log.h"
#include "policy.h"
#include "status.h"

/* End every session of st as close would: killed, its cgroups and
 * record removed (standalone), through logind (a logind session), or its
 * processes killed so that systemd ends the scope (a job). Prints and
 * logs each; returns 0 or the last -errno. */
int nscg_terminate(const struct nscg_host *host, const struct nscg_status *st,
		   const struct nscg_log *log);

struct nscg_apply_opts {
	bool dry_run; /* print what would change */
	bool force; /* lower memory.max below what is in use too */
};

/* Resolve p again for the users and sessions of st and apply what
 * changed: the cgroup files (standalone) or the units' properties at
 * runtime (systemd). Prints each change. Returns 0, 1 when a memory
 * limit was held back (no --force), or -errno when one failed. */
int nscg_apply(const struct nscg_host *host, const struct nscg_policy *p,
	       const struct nscg_status *st, const struct nscg_apply_opts *o,
	       const struct nscg_log *log);

#endif
