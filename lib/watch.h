/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session's watcher: a small root process per session, forked by
 * nscg-helper before it makes the namespaces, so that it stays in the
 * host's namespaces and in the login caller's cgroups: standalone, those
 * the caller came from (sshd's), outside the user's limits; in a logind
 * session, the session's scope, where the caller is already, so that it
 * is one task and about 130 kB there, and close kills it with the rest.
 * It holds no capability, cannot be signalled or traced by the user (it
 * is root's), and ends when the session has no other process left or
 * its cgroup is gone.
 *
 * It does two things, and a third for a session with delegate = yes:
 *  - when the kernel's OOM killer ends a process of the session, it
 *    writes one line to the session's terminal (oom_notice) and one to
 *    the log: which limit was reached, and that nscgctl status shows the
 *    usage;
 *  - it answers nscgctl status for the session's user, who cannot see
 *    the host's cgroups from inside the session: on the unix socket
 *    NSCG_STATUS_DIR/UID.NAME (a directory only root writes, so nobody
 *    else can bind there), to peers of that uid (or root) only, one
 *    request at a time, each bounded by a second, at most 5 a second;
 *  - delegate: it moves the user's processes that the caller forks in
 *    NAME/caller, root's, to NAME/user/login, in the user's subtree, as
 *    they come: every 10 ms for the login's first 2 s, then every 100 ms
 *    for a minute, then every 500 ms. Until then they are under the
 *    session's limits all the same. (The kernel tells nobody of a fork.)
 * It ends with the login's caller (a pidfd), or when the session has no
 * other process left or its cgroup is gone. */
#ifndef NSCG_WATCH_H
#define NSCG_WATCH_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef NSCG_STATUS_DIR
#define NSCG_STATUS_DIR "/run/nscg-status"
#endif

struct nscg_watch_opts {
	uid_t uid; /* the session's user */
	const char *user; /* the name, for the log */
	pid_t caller; /* the login's caller, in the session's cgroups by now */
	int caller_fd; /* a pidfd of the caller, taken as soon as its pid was
			* known; -1: none (no pidfd_open) */
	int tty_fd; /* the session's terminal, opened for writing; -1: none */
	bool notice; /* oom_notice: a line on the terminal */
	bool delegate; /* the caller is in NAME/caller; its user's processes go
			* to NAME/user/login (delegate.h) */
};

/* Watch the session the caller is in until it ends; returns the exit
 * status for the watcher (0). */
int nscg_watch_run(const struct nscg_watch_opts *o);

/* The path of the status socket of uid's session name, into buf; -ENAMETOOLONG
 * if it does not fit. (In record.c: a record's removal takes the socket.) */
int nscg_status_socket(uid_t uid, const char *name, char *buf, size_t len);

/* nscgctl status as its user: ask a watcher of one of uid's sessions
 * for the status (json or the table; session: NULL or an ID) and copy
 * the answer to out. Only a watcher that is root's is believed. Returns
 * the exit status the answer carries (0, or 3: no such session), or
 * -errno: -ENOENT when uid has no session with a watcher. */
int nscg_watch_ask(uid_t uid, bool json, const char *session, FILE *out);

#endif
