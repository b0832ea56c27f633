/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Namespaces: run nscg-helper, join the namespaces it made, and go back.
 * Every wait is bounded; every fd is O_CLOEXEC. */
#ifndef NSCG_NS_H
#define NSCG_NS_H

#include <sys/types.h>

#include "log.h"

/* The caller's own namespaces and working directory, to come back to. */
struct nscg_ns_saved {
	int fd[4]; /* cgroup, mnt, ipc, uts, from /proc/self/ns */
	int cwd; /* O_PATH, in the caller's mount namespace */
	char cwd_path[4096]; /* the same by name, for the new namespace */
};

int nscg_ns_save(struct nscg_ns_saved *s);
/* setns back into the saved namespaces of mask, then restore the cwd. */
int nscg_ns_restore(const struct nscg_ns_saved *s, unsigned mask);
void nscg_ns_close(struct nscg_ns_saved *s);

/* Check that path is a helper we may run as root: a regular file owned
 * by root, executable, not writable by group or others, not setuid or
 * setgid. Returns an O_PATH fd of it (exec goes through that fd, so the
 * file checked is the file run), or -errno with a log line. */
int nscg_helper_open(const char *path, const struct nscg_log *log);

/* Run the helper (fd from nscg_helper_open) for a session with the
 * namespaces of mask and hostname (NULL: keep), wait at most timeout_ms
 * for it to be ready, join its namespaces, restore the cwd, release and
 * reap it. On failure the caller's namespaces are untouched or restored
 * from saved, and the helper is gone. */
int nscg_ns_enter_session(int helper_fd, unsigned mask, const char *hostname,
			  const struct nscg_ns_saved *saved, unsigned timeout_ms,
			  const struct nscg_log *log);

#endif
