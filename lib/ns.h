/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Namespaces: run nscg-helper, join the namespaces it made, and go back.
 * Every wait is bounded; every fd is O_CLOEXEC. */
#ifndef NSCG_NS_H
#define NSCG_NS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/* The namespaces a session gets, as bits of the policy's "namespaces". */
#define NSCG_NS_CGROUP 0x1u
#define NSCG_NS_MOUNT 0x2u
#define NSCG_NS_IPC 0x4u
#define NSCG_NS_UTS 0x8u
#define NSCG_NS_ALL 0xfu
#define NSCG_NS_COUNT 4

/* One kind of namespace: its name in the policy and on the helper's
 * command line, its name under /proc/PID/ns, its bit and its clone flag. */
struct nscg_ns_kind {
	const char *name;
	const char *proc;
	unsigned bit;
	int clone_flag;
};

/* Every kind, in the order of their bits. */
extern const struct nscg_ns_kind nscg_ns_kinds[NSCG_NS_COUNT];

/* The bit of the kind called name[0..n) ("mount"), or 0 if none is. */
unsigned nscg_ns_bit(const char *name, size_t n);

/* The inode of the initial cgroup namespace, fixed by the kernel
 * (PROC_CGROUP_INIT_INO in include/linux/proc_ns.h). */
#define NSCG_CGROUP_INIT_INO 0xEFFFFFFBu

/* The caller's own namespaces and working directory, to come back to. */
struct nscg_ns_saved {
	int fd[NSCG_NS_COUNT]; /* in the order of nscg_ns_kinds, from /proc/self/ns */
	int cwd; /* O_PATH, in the caller's mount namespace */
	char cwd_path[4096]; /* the same by name, for the new namespace */
};

int nscg_ns_save(struct nscg_ns_saved *s);
/* The saved fd of the namespace kind bit (NSCG_NS_CGROUP...), or -1. */
int nscg_ns_saved_fd(const struct nscg_ns_saved *s, unsigned bit);
/* setns back into the saved namespaces of mask, then restore the cwd. */
int nscg_ns_restore(const struct nscg_ns_saved *s, unsigned mask);
void nscg_ns_close(struct nscg_ns_saved *s);

/* The host's namespaces, for a login leaving a sandbox: PID 1's where
 * they are open to us, else those of the nearest ancestor of this
 * process in the initial cgroup namespace, the one the sandbox was
 * entered from (PID 1 may hold capabilities the caller lacks, which
 * closes its namespaces to it). cwd is -1 and cwd_path the current
 * directory by name, so nscg_ns_restore goes to the same path there.
 * -ENOENT if there is none. */
int nscg_ns_open_host(struct nscg_ns_saved *host);

/* Check that path is a helper we may run as root: a regular file owned
 * by root, executable, not writable by group or others, not setuid or
 * setgid. Returns an O_PATH fd of it (exec goes through that fd, so the
 * file checked is the file run), or -errno with a log line. */
int nscg_helper_open(const char *path, const struct nscg_log *log);

/* Fresh mounts the helper makes in the session's mount namespace,
 * before it enters the session's cgroups (so the mounts themselves are
 * not charged to the user; their pages are, to whoever writes them):
 * tmpfs on /dev/shm and /tmp, and a procfs on /proc that shows the
 * session only the processes it may ptrace (hide_processes). */
struct nscg_private_mounts {
	bool shm, tmp; /* on /dev/shm, on /tmp */
	uint64_t shm_size, tmp_size; /* bytes; 0: the kernel's default */
	bool hide_pids;
	bool proc_gid_set; /* members of proc_gid see every process */
	gid_t proc_gid;
};

/* The session's watcher the helper forks (watch.h), if on. The helper
 * reads both of these back from its command line (exec_helper). */
struct nscg_helper_watch {
	bool on;
	uid_t uid;
	const char *user;
	const char *tty; /* PAM_TTY, or NULL */
	bool notice; /* oom_notice */
	bool delegate; /* the session's processes go into its delegated subtree */
};

/* A helper between nscg_helper_spawn and nscg_ns_enter_session (or
 * nscg_helper_abort): SIGCHLD stays blocked in between, so the caller's
 * own handler cannot reap it behind our back. */
struct nscg_helper {
	pid_t pid;
	int sock; /* our end of the control socket */
	bool swapped; /* SIGCHLD was ignored: the default is in place */
	struct sigaction old_chld;
	sigset_t old_mask;
};

/* Start the helper (fd from nscg_helper_open) for the namespaces of mask
 * and the private mounts pm (NULL: none; they need the mount namespace),
 * and the watcher w (NULL: none),
 * and return at once: it makes every namespace but the cgroup one while
 * the caller goes on. Call it before the caller enters the session's
 * cgroups: the fork, the exec and the new mount namespace are then
 * charged to the caller's own cgroups, never to the user's, whose full
 * pids or memory limit would refuse them; and the helper stays there.
 * On failure the helper is gone and -errno is returned. */
int nscg_helper_spawn(int helper_fd, unsigned mask, const struct nscg_private_mounts *pm,
		      const struct nscg_helper_watch *w, struct nscg_helper *h,
		      const struct nscg_log *log);

/* Kill and reap a spawned helper; restores SIGCHLD. No-op if none. */
void nscg_helper_abort(struct nscg_helper *h);

/* With the caller in the session's cgroups: make the cgroup namespace
 * (rooted there) in the caller, wait at most timeout_ms each for the
 * helper's namespaces and for its view of cgroupfs (it joins that cgroup
 * namespace to mount it, and sets hostname: NULL or "" keeps it), join
 * its namespaces, restore the cwd, release and reap it. With leave_to
 * (an fd of a cgroup of the unified hierarchy; -1: none) the caller moves
 * there once the cgroup namespace is made, before the helper goes on: out
 * of the namespace's root (delegate.h). On failure the caller's
 * namespaces are restored from saved and the helper is gone; the
 * helper's own errno is returned where it reported one. */
int nscg_ns_enter_session(struct nscg_helper *h, unsigned mask, const char *hostname,
			  const struct nscg_ns_saved *saved, int leave_to, unsigned timeout_ms,
			  const struct nscg_log *log);

#endif
