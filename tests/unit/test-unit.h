/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small test harness: each test is a function; CHECK stops the test at
 * the first failed assertion and records where. */
#ifndef NSCG_TEST_UNIT_H
#define NSCG_TEST_UNIT_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct test {
	const char *name;
	void (*fn)(void);
};

extern const struct test util_tests[];
extern const struct test policy_tests[];

void t_fail(const char *file, int line, const char *what);
bool t_failed(void);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			t_fail(__FILE__, __LINE__, #cond);                     \
			return;                                                \
		}                                                              \
	} while (0)

/* Fixture helpers (test-unit.c): files live in one private temp dir. */
const char *t_dir(void);
/* Write content to t_dir()/rel with mode, creating parent directories. */
const char *t_write(const char *rel, const char *content, unsigned mode);
/* Load t_dir()/rel with this process's uid trusted and 16 GiB of RAM. */
/* Load t_path(rel) as nscgctl does: with the dialect check. */
struct nscg_policy *t_load(const char *rel);
/* ... with another dialect check, or NULL for none, as the module does. */
typedef void nscg_dialect_check_fn(struct nscg_policy *p, const struct nscg_policy_file *f);
struct nscg_policy *t_load_with(const char *rel, nscg_dialect_check_fn *check);
/* The path t_dir()/rel, in a static buffer. */
const char *t_path(const char *rel);
/* True if p has a diagnostic of that severity whose file ends in file,
 * on line (0: any line), whose message contains text. */
bool t_has_diag(const struct nscg_policy *p, bool error, const char *file,
		unsigned line, const char *text);
/* Print every diagnostic of p (for failed tests). */
void t_dump(const struct nscg_policy *p);

#endif
