/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroupfs, one interface over v1, hybrid and v2 hosts.
 *
 * The host's layout is read once from mountinfo into a struct nscg_host:
 * one entry per mounted hierarchy, each with an O_PATH fd of its root and
 * the backend (v1 or v2) that speaks its file names. A cgroup is the same
 * relative path in every hierarchy, held as one O_PATH fd per hierarchy.
 * All access is relative to those fds (openat with O_NOFOLLOW); control
 * files are opened just in time and closed at once (doc/design.md §5). */
#ifndef NSCG_CGROUP_H
#define NSCG_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "log.h"

#define NSCG_MAX_HIER 16

enum nscg_layout { NSCG_LAYOUT_V1, NSCG_LAYOUT_HYBRID, NSCG_LAYOUT_V2 };

/* Controllers pam_nscg uses, as bits. */
enum {
	NSCG_CTRL_MEMORY = 1u << 0,
	NSCG_CTRL_CPU = 1u << 1,
	NSCG_CTRL_CPUACCT = 1u << 2,
	NSCG_CTRL_CPUSET = 1u << 3,
	NSCG_CTRL_PIDS = 1u << 4,
	NSCG_CTRL_IO = 1u << 5, /* "blkio" on v1 */
	NSCG_CTRL_FREEZER = 1u << 6,
};

struct nscg_backend;

/* The NSCG_CTRL_* bits of the controllers named in a comma or space
 * separated list; *other (if given) is set when it names another one. */
unsigned nscg_ctrl_mask(const char *list, bool *other);

struct nscg_hier {
	const struct nscg_backend *ops;
	int root_fd; /* O_PATH of the mount point */
	unsigned ctrls; /* controllers this hierarchy carries */
	bool named; /* a v1 hierarchy without controllers (name=systemd) */
	char mount[256]; /* mount point */
	char opts[256]; /* super options as in mountinfo, for remounting */
};

struct nscg_host {
	enum nscg_layout layout;
	size_t n;
	struct nscg_hier h[NSCG_MAX_HIER];
};

/* Read the cgroup mounts under /sys/fs/cgroup from mountinfo (NULL: this
 * process's) and open each root. -ENOENT when no cgroupfs is mounted. */
int nscg_host_detect(const char *mountinfo, struct nscg_host *out,
		     const struct nscg_log *log);
void nscg_host_close(struct nscg_host *host);

/* The session's view of cgroupfs keeps nothing of the host's (doc/design.md
 * §4). In the mount table text mountinfo, the next host mount to detach
 * before the view is mounted: the shallowest one at or below
 * /sys/fs/cgroup, else a cgroup filesystem mounted anywhere else; mounts
 * whose ID is in skip[0..nskip) are passed over. Its mount point,
 * unescaped, goes to path (len bytes) and its ID to *id. 1 if there is
 * one, 0 if none is left, -ENAMETOOLONG for a mount point longer than
 * len. */
int nscg_view_next_host_mount(const char *mountinfo, const unsigned *skip, size_t nskip,
			      char *path, size_t len, unsigned *id);
const char *nscg_layout_name(enum nscg_layout layout);

/* A cgroup: one O_PATH directory fd per hierarchy of the host (-1 where
 * pam_nscg does not use that hierarchy). */
struct nscg_cgroup {
	int fd[NSCG_MAX_HIER];
};

void nscg_cgroup_init(struct nscg_cgroup *cg);
void nscg_cgroup_close(struct nscg_cgroup *cg);

/* Whether pam_nscg puts sessions into this hierarchy: every hierarchy
 * with a controller, and the unified one; named v1 hierarchies
 * (name=systemd) belong to their manager and are left alone. */
bool nscg_hier_used(const struct nscg_hier *h);

/* Open (creating with mode 0755 where missing) the relative path under
 * each used hierarchy root, component by component, never following
 * symlinks. On v2, enables the controllers this host offers in each
 * ancestor on the way (not in the last component). created[i] tells
 * whether the last component was made by this call. */
int nscg_cgroup_open(const struct nscg_host *host, const char *path,
		     bool create, struct nscg_cgroup *out, bool *created,
		     const struct nscg_log *log);

/* nscg_cgroup_open with create, keeping the parent of path's last
 * component in *parent too (a path of one component: the roots). */
int nscg_cgroup_create(const struct nscg_host *host, const char *path, struct nscg_cgroup *out,
		       struct nscg_cgroup *parent, bool *created, const struct nscg_log *log);

/* path under every used hierarchy where it exists (-1 elsewhere), for a
 * cgroup that may be left in some hierarchies only. */
void nscg_cgroup_open_existing(const struct nscg_host *host, const char *path,
			       struct nscg_cgroup *out);

/* Whether a user may move processes in or out of cg, in any hierarchy:
 * cg or one of its ancestors has a cgroup.procs that is not root's (a
 * delegated subtree, such as a user's systemd manager's). */
bool nscg_cgroup_delegated(const struct nscg_host *host, const struct nscg_cgroup *cg);

/* An apply that compares first: each file whose value would change is
 * reported to changed() (the file, its value now, the new one) and,
 * unless dry_run, written; a file that holds the value already is not. */
struct nscg_apply_plan {
	bool dry_run;
	void (*changed)(void *ctx, const char *file, const char *from, const char *to);
	void *ctx;
	unsigned changes; /* counted */
};

/* Write the limits into cg in every hierarchy that carries them. A limit
 * that no hierarchy of this host can honour is logged (one line naming
 * the keys), not an error. Returns -errno on a failed write. */
int nscg_cgroup_apply(const struct nscg_host *host, const struct nscg_cgroup *cg,
		      const struct nscg_limits *lim, const char *what,
		      const struct nscg_log *log);

/* The same with plan (NULL: as nscg_cgroup_apply). With a plan, a
 * failed write does not stop the other hierarchies; the first error is
 * returned. */
int nscg_cgroup_apply_plan(const struct nscg_host *host, const struct nscg_cgroup *cg,
			   const struct nscg_limits *lim, const char *what,
			   struct nscg_apply_plan *plan, const struct nscg_log *log);

/* Move pid (0: the caller) into cg in every used hierarchy. */
int nscg_cgroup_attach(const struct nscg_host *host,
		       const struct nscg_cgroup *cg, pid_t pid);

/* 1 if cg holds any process (in any used hierarchy), 0 if none, or -errno. */
int nscg_cgroup_populated(const struct nscg_host *host, const struct nscg_cgroup *cg);

/* The cgroups of process pid (0: this one) in each used hierarchy, from
 * /proc/PID/cgroup; with leaf, only in the hierarchies where its last
 * component is leaf. */
int nscg_cgroup_open_of(const struct nscg_host *host, pid_t pid, const char *leaf,
			struct nscg_cgroup *out);

/* The tasks in cg and its pids.max (NSCG_UNLIMITED for "max"), from
 * the first hierarchy with the pids controller; -ENOENT if none has it. */
int nscg_cgroup_pids(const struct nscg_host *host, const struct nscg_cgroup *cg,
		     uint64_t *current, uint64_t *max);

/* Kill every process of cg and wait, at most timeout_ms, until it is
 * empty: cgroup.kill where the kernel has it, else SIGKILL to every pid
 * with the freezer holding the cgroup still. -ETIMEDOUT if not empty. */
int nscg_cgroup_kill(const struct nscg_host *host, const struct nscg_cgroup *cg,
		     unsigned timeout_ms);

/* Kill every process of cg but the caller, without writing any of cg's
 * files (for systemd's cgroups, which only systemd writes): SIGKILL to
 * each pid listed, again until none but the caller is left or timeout_ms
 * passes (-ETIMEDOUT). A fork between two rounds is caught by the next;
 * pids.max bounds how many there can be. */
int nscg_cgroup_kill_others(const struct nscg_host *host, const struct nscg_cgroup *cg,
			    unsigned timeout_ms);

/* What a cgroup uses and may use, where the kernel reports it:
 * NSCG_USAGE_UNKNOWN where it does not (no such controller or file);
 * a limit of NSCG_UNLIMITED (UINT64_MAX) is none. */
#define NSCG_USAGE_UNKNOWN (UINT64_MAX - 1)
struct nscg_usage {
	uint64_t cpu_usec; /* CPU time */
	uint64_t nr_throttled; /* periods throttled by the CPU quota */
	uint64_t throttled_usec; /* time throttled by it */
	uint64_t mem_current, mem_peak, mem_max; /* bytes */
	uint64_t oom_kills; /* processes the OOM killer took */
	uint64_t tasks, tasks_max; /* pids.current, pids.max */
};

/* Read cg's usage in every hierarchy that reports a part of it. */
void nscg_cgroup_usage(const struct nscg_host *host,
		       const struct nscg_cgroup *cg, struct nscg_usage *u);

/* name below parent, in every hierarchy where it exists (-1 elsewhere). */
void nscg_cgroup_open_child(const struct nscg_host *host, const struct nscg_cgroup *parent,
			    const char *name, struct nscg_cgroup *out);

/* rmdir name under parent in every hierarchy where it exists; retries
 * EBUSY for at most timeout_ms. -ENOENT everywhere is success. */
int nscg_cgroup_rmdir(const struct nscg_host *host,
		      const struct nscg_cgroup *parent, const char *name,
		      unsigned timeout_ms);

/* Deeper than the cgroups below a session go: a delegated subtree's
 * (delegate_max_depth, at most 32) below two levels of pam_nscg's own. */
#define NSCG_SUBTREE_MAX_DEPTH 40

/* The same for a session's cgroup, with the cgroups below it (a
 * delegated subtree, delegate.h, and the user's own in it), which become
 * root's on the way down so that nobody makes another meanwhile. Never
 * for a cgroup that holds sessions: those below would go too. */
int nscg_cgroup_rmdir_session(const struct nscg_host *host,
			      const struct nscg_cgroup *parent, const char *name,
			      unsigned timeout_ms);

/* The backend of one hierarchy: what differs between v1 and v2. */
struct nscg_backend {
	const char *name;
	/* Whether pam_nscg puts sessions into h (nscg_hier_used). */
	bool (*used)(const struct nscg_hier *h);
	/* Whether a line of /proc/PID/cgroup listing ctrls is h's. */
	bool (*owns_line)(const struct nscg_hier *h, const char *ctrls);
	/* A cgroup just made (or found) at child under parent, before it
	 * holds a task: v2 enables the controllers in parent, v1 cpuset
	 * gives the child its parent's CPUs and memory nodes. */
	int (*prepare)(const struct nscg_hier *h, int parent, int child);
	/* Write lim's values this hierarchy carries (each through
	 * nscg_cgroup_put); set done[k] for each. */
	int (*apply)(const struct nscg_hier *h, int dirfd, const struct nscg_limits *lim,
		     bool *done, struct nscg_apply_plan *plan);
	/* Fill the fields of u this hierarchy knows. */
	void (*usage)(const struct nscg_hier *h, int dirfd, struct nscg_usage *u);
	/* SIGKILL every process of the cgroup at once (cgroup.kill);
	 * -EOPNOTSUPP where this hierarchy or kernel cannot. */
	int (*kill_all)(const struct nscg_hier *h, int dirfd);
	/* Freeze or thaw the cgroup; -EOPNOTSUPP where it cannot. */
	int (*freeze)(const struct nscg_hier *h, int dirfd, bool frozen);
	/* Mount h at where, as the caller's cgroup namespace sees it, with
	 * the host's own option set (another set would be EBUSY on v1). */
	int (*mount)(const struct nscg_hier *h, const char *where, unsigned long flags);
};

extern const struct nscg_backend nscg_backend_v1;
extern const struct nscg_backend nscg_backend_v2;

/* Small I/O at a directory fd, shared by the backends. */
int nscg_write_at(int dirfd, const char *file, const char *value);
int nscg_read_at(int dirfd, const char *file, char *buf, size_t len);
/* Write val to file at dirfd, as plan says (NULL: just write) and set
 * *done; a file this kernel does not offer (ENOENT) is left not done. */
int nscg_cgroup_put(int dirfd, const char *file, const char *val, struct nscg_apply_plan *plan,
		    bool *done);
/* Read a file holding one decimal number. */
int nscg_read_u64_at(int dirfd, const char *file, uint64_t *out);
/* The same, or "max" for NSCG_UNLIMITED. */
int nscg_read_limit_at(int dirfd, const char *file, uint64_t *out);
/* Read "key value" lines of file at dirfd; -ENOENT if key is absent. */
int nscg_read_keyed(int dirfd, const char *file, const char *key,
		    uint64_t *out);

#endif
