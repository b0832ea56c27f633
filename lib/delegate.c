/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A subtree of a session's cgroup for its user (delegate.h). */
#include "delegate.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define DELEGATE_LIST "/sys/kernel/cgroup/delegate"

void nscg_delegation_init(struct nscg_delegation *d)
{
	*d = (struct nscg_delegation){ .hier = -1, .caller = -1, .user = -1 };
}

void nscg_delegation_close(struct nscg_delegation *d)
{
	nscg_close(d->caller);
	nscg_close(d->user);
	nscg_delegation_init(d);
}

static int unified(const struct nscg_host *host)
{
	for (size_t i = 0; i < host->n; i++)
		if (host->h[i].ops == &nscg_backend_v2)
			return (int)i;
	return -1;
}

int nscg_delegate_check(const struct nscg_host *host, const struct nscg_log *log)
{
	struct utsname un = { 0 };

	/* With v1 hierarchies beside, the user's cgroups would be bounded
	 * by the unified one's limits alone, and v1 has no delegation the
	 * kernel holds to (no nsdelegate, no common ancestor rule). */
	if (host->layout != NSCG_LAYOUT_V2) {
		nscg_log(log, LOG_ERR,
			 "delegate = yes needs a pure cgroup v2 host; this one is %s, where delegating is unsafe",
			 nscg_layout_name(host->layout));
		return -EOPNOTSUPP;
	}
	if (uname(&un) < 0 ||
	    !nscg_kernel_at_least(un.release, NSCG_DELEGATE_KERNEL_MAJOR, NSCG_DELEGATE_KERNEL_MINOR)) {
		nscg_log(log, LOG_ERR,
			 "delegate = yes needs Linux %d.%d or later (migrations checked with the opener's credentials); this kernel is %s",
			 NSCG_DELEGATE_KERNEL_MAJOR, NSCG_DELEGATE_KERNEL_MINOR, un.release);
		return -EOPNOTSUPP;
	}
	if (access(DELEGATE_LIST, R_OK) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "delegate = yes: cannot read %s",
				      DELEGATE_LIST);
	return 0;
}

/* mkdir name in parent (it must not exist: the session is fresh) and
 * open it. */
static int make_child(int parent, const char *name, int *out)
{
	if (mkdirat(parent, name, 0755) < 0)
		return -errno;
	*out = openat(parent, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return *out < 0 ? -errno : 0;
}

static int put_count(int dirfd, const char *file, unsigned n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", n);
	return nscg_write_at(dirfd, file, buf);
}

/* The directory and each file the kernel lists as safe to delegate, to
 * uid:gid; a listed file this cgroup lacks (a controller it has not
 * got) is skipped. */
static int give(int dirfd, uid_t uid, gid_t gid)
{
	_cleanup_free_ char *list = NULL;
	size_t len;
	int r;

	_cleanup_close_ int lfd = open(DELEGATE_LIST, O_RDONLY | O_CLOEXEC);
	if (lfd < 0 || (r = nscg_read_fd(lfd, 4096, &list, &len)) < 0)
		return lfd < 0 ? -errno : r;
	if (fchownat(dirfd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return -errno;
	for (char *line = list, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		struct stat st;
		if (!*line || strchr(line, '/') || fstatat(dirfd, line, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fchownat(dirfd, line, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	return 0;
}

int nscg_delegate_make(const struct nscg_host *host, const struct nscg_cgroup *sess,
		       unsigned descendants, unsigned depth, struct nscg_delegation *d,
		       const struct nscg_log *log)
{
	_cleanup_close_ int login = -1;
	int r;

	d->hier = unified(host);
	if (d->hier < 0 || sess->fd[d->hier] < 0)
		return nscg_log_errno(log, LOG_ERR, -ENOENT, "delegate: no unified hierarchy");
	const struct nscg_hier *h = &host->h[d->hier];
	int s = sess->fd[d->hier];
	const char *what = NSCG_DELEGATE_CALLER;
	if ((r = make_child(s, NSCG_DELEGATE_CALLER, &d->caller)) < 0 ||
	    (what = NSCG_DELEGATE_USER, r = make_child(s, NSCG_DELEGATE_USER, &d->user)) < 0 ||
	    (what = NSCG_DELEGATE_USER "/" NSCG_DELEGATE_LOGIN,
	     r = make_child(d->user, NSCG_DELEGATE_LOGIN, &login)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "delegate: cannot create %s", what);
	/* login is one of the descendants, and not the user's. */
	if ((r = put_count(d->user, "cgroup.max.descendants", descendants + 1)) < 0 ||
	    (r = put_count(d->user, "cgroup.max.depth", depth)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "delegate: cannot bound the user's cgroups");
	if ((r = nscg_write_at(d->user, "cgroup.procs", "0")) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "delegate: cannot move the login into %s",
				      NSCG_DELEGATE_USER);
	/* The session's own controllers, for its children: it holds no
	 * process now (a scope of systemd's did: the caller), so it may. */
	if ((r = h->ops->prepare(h, s, d->user)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "delegate: cannot enable the controllers");
	return 0;
}

/* The controllers below NAME/user and the mirrored limits, written from
 * the caller's own cgroup namespace (nscg_delegate_hand_over). */
static int prepare_from_host(const struct nscg_host *host, const struct nscg_delegation *d,
			     int login, const struct nscg_cgroup *sess,
			     const struct nscg_limits *lim, int host_cgns,
			     const struct nscg_log *log)
{
	const struct nscg_hier *h = &host->h[d->hier];
	_cleanup_close_ int here = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	int r;

	if (here < 0 || setns(host_cgns, CLONE_NEWCGROUP) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno,
				      "delegate: cannot return to the caller's cgroup namespace");
	/* Controllers first, while the subtree is root's: its
	 * cgroup.subtree_control is the user's once it is theirs. */
	r = h->ops->prepare(h, d->user, login);
	if (r < 0)
		nscg_log_errno(log, LOG_ERR, r, "delegate: cannot enable the controllers below %s",
			       NSCG_DELEGATE_USER);
	else
		r = nscg_delegate_mirror(host, sess, lim, NULL, log);
	if (setns(here, CLONE_NEWCGROUP) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno,
				      "delegate: cannot rejoin the session's cgroup namespace");
	return r;
}

int nscg_delegate_hand_over(const struct nscg_host *host, const struct nscg_delegation *d,
			    const struct nscg_cgroup *sess, const struct nscg_limits *lim,
			    int host_cgns, uid_t uid, gid_t gid, const struct nscg_log *log)
{
	_cleanup_close_ int login = openat(d->user, NSCG_DELEGATE_LOGIN,
					   O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (login < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "delegate: cannot open %s/%s",
				      NSCG_DELEGATE_USER, NSCG_DELEGATE_LOGIN);
	if ((r = prepare_from_host(host, d, login, sess, lim, host_cgns, log)) < 0)
		return r;
	if ((r = give(d->user, uid, gid)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "delegate: cannot give the subtree to uid %u",
				      (unsigned)uid);
	return 0;
}

int nscg_delegate_kill(const struct nscg_host *host, const struct nscg_cgroup *sess,
		       unsigned timeout_ms)
{
	struct nscg_cgroup sub;

	nscg_cgroup_open_child(host, sess, NSCG_DELEGATE_USER, &sub);
	int r = nscg_cgroup_kill(host, &sub, timeout_ms);
	nscg_cgroup_close(&sub);
	/* ... and the login's processes the watcher has not moved yet. */
	nscg_cgroup_open_child(host, sess, NSCG_DELEGATE_CALLER, &sub);
	int k = nscg_cgroup_kill_others(host, &sub, timeout_ms);
	nscg_cgroup_close(&sub);
	return r < 0 ? r : k;
}

int nscg_delegate_mirror(const struct nscg_host *host, const struct nscg_cgroup *sess,
			 const struct nscg_limits *lim, struct nscg_apply_plan *plan,
			 const struct nscg_log *log)
{
	/* The keys this host cannot honour were said for NAME already. */
	struct nscg_log quiet = log ? *log : (struct nscg_log){ 0 };
	struct nscg_cgroup user, login;
	int r = 0;

	quiet.max_prio = LOG_ERR;
	nscg_cgroup_open_child(host, sess, NSCG_DELEGATE_USER, &user);
	nscg_cgroup_open_child(host, &user, NSCG_DELEGATE_LOGIN, &login);
	int d = unified(host);
	struct stat u, l;
	if (d >= 0 && user.fd[d] >= 0) {
		r = nscg_cgroup_apply_plan(host, &user, lim, "session", plan, &quiet);
		/* login is in the user's directory: once empty, they may
		 * remove it and make a cgroup of theirs by that name, whose
		 * limits are theirs to set. Only root's own is written. */
		if (r == 0 && login.fd[d] >= 0 && fstat(user.fd[d], &u) == 0 &&
		    fstat(login.fd[d], &l) == 0 && l.st_uid == 0 && l.st_dev == u.st_dev)
			r = nscg_cgroup_apply_plan(host, &login, lim, "session", plan, &quiet);
	}
	nscg_cgroup_close(&login);
	nscg_cgroup_close(&user);
	return r;
}
