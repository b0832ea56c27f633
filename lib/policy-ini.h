/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dialect check, for nscgctl and the fuzz target: iniparser reads
 * each file the line scanner accepted, and every key the scanner
 * recorded must hold the value iniparser stores for it; a difference is
 * an error naming the line ("iniparser reads this line differently").
 * Set it as nscg_load_opts.dialect_check. Links iniparser. */
#ifndef NSCG_POLICY_INI_H
#define NSCG_POLICY_INI_H

#include "policy.h"

void nscg_policy_check_dialect(struct nscg_policy *p, const struct nscg_policy_file *f);

#endif
