/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The live sessions and what they use, for nscgctl status and metrics:
 * the records (record.h) of sessions whose cgroup still exists, each
 * with the usage and limits read off its cgroup, and each user's totals
 * read off the cgroup that holds the user's sessions (<parent>/user-UID
 * standalone, user-UID.slice in systemd mode). Every number is the
 * kernel's, read at the moment: a limit shown is the one in force. */
#ifndef NSCG_STATUS_H
#define NSCG_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cgroup.h"
#include "record.h"

struct nscg_status_session {
	struct nscg_record rec;
	struct nscg_usage u;
	bool orphan; /* its opener is gone: the sweep (nscgctl gc) finishes it */
};

struct nscg_status_user {
	uid_t uid;
	char user[256];
	char cgroup[256]; /* the cgroup that holds the user's sessions */
	unsigned sessions;
	struct nscg_usage u;
};

struct nscg_status {
	struct nscg_status_session *sess; /* by uid, user cgroup, start */
	size_t nsess;
	struct nscg_status_user *users; /* in the same order */
	size_t nusers;
	uint64_t now; /* seconds since the epoch, when it was read */
	enum nscg_layout layout;
};

/* Which sessions: all, one uid's, or the one session (its name,
 * "session-1a2b3c4d", or its ID, "1a2b3c4d" or logind's "3"). */
struct nscg_status_filter {
	bool by_uid;
	uid_t uid;
	const char *session; /* NULL: any */
};

/* Read the status of the sessions f selects into *st (free it with
 * nscg_status_free). 0 or -errno (-EACCES: the records are root's). */
int nscg_status_read(const struct nscg_host *host, const struct nscg_status_filter *f,
		     struct nscg_status *st);
void nscg_status_free(struct nscg_status *st);

/* Whether a session's name or ID is id. */
bool nscg_status_session_is(const struct nscg_record *rec, const char *id);

/* A table of sessions and then users, at most 100 columns wide. */
void nscg_status_print_table(FILE *f, const struct nscg_status *st);

/* The same as JSON, schema version 1 (nscgctl(8), "JSON"). */
void nscg_status_print_json(FILE *f, const struct nscg_status *st);

/* Prometheus text format, as node_exporter's textfile collector reads it. */
void nscg_status_print_metrics(FILE *f, const struct nscg_status *st);

#endif
