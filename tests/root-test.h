/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the root-only C tests share: a log sink that collects into
 * logbuf, and T(), which prints PASS:/FAIL: TEST_GROUP/name lines (with
 * the collected log on failure). Define TEST_GROUP before including. */
#ifndef NSCG_ROOT_TEST_H
#define NSCG_ROOT_TEST_H

#include <stdio.h>
#include <string.h>

#include "log.h"

/* The bound given to every wait of the code under test (a kill, an
 * rmdir, the helper's answer): generous, since a loaded machine can
 * take seconds where a quiet one takes milliseconds, and a wait that is
 * met returns at once. */
#define TEST_DEADLINE_MS 60000

static unsigned pass, fail;
static char logbuf[8192];

static void capture(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	(void)prio;
	size_t o = strlen(logbuf);
	snprintf(logbuf + o, sizeof(logbuf) - o, "%s\n", msg);
}

static const struct nscg_log tlog = { .emit = capture, .max_prio = LOG_DEBUG };

#define T(name, cond)                                                          \
	do {                                                                   \
		if (cond) {                                                    \
			printf("PASS: " TEST_GROUP "/%s\n", name);             \
			pass++;                                                \
		} else {                                                       \
			printf("FAIL: " TEST_GROUP "/%s (%s:%d: %s)%s%s\n",     \
			       name, __FILE__, __LINE__, #cond,                \
			       logbuf[0] ? " log: " : "", logbuf);             \
			fail++;                                                \
		}                                                              \
		fflush(stdout);                                                \
	} while (0)

#endif
