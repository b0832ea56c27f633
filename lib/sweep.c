/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sweep.h"

#include "record.h"
#include "logind.h"
#include "usertmp.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RMDIR_TIMEOUT_MS 500
#define STAMP "sweep.stamp"
#define SWEEP_LOCK "sweep.lock"

/* Names in a sorted, duplicate-free list. */
struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	nscg_strv_free(l->v);
	*l = (struct names){ 0 };
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(struct names *l, const char *name)
{
	if (l->n && bsearch(&name, l->v, l->n, sizeof(*l->v), cmp_str))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, (cap + 1) * sizeof(*v)); /* NULL-terminated */
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return -ENOMEM;
	l->v[++l->n] = NULL;
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	return 0;
}

/* Add the entries of the directory at dirfd that start with prefix. */
static int list_prefixed(int dirfd, const char *prefix, struct names *out)
{
	_cleanup_closedir_ DIR *d = nscg_opendir_at(dirfd);
	int r = 0;

	if (!d)
		return -errno;
	for (struct dirent *de; r == 0 && (de = readdir(d));)
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			r = names_add(out, de->d_name);
	return r;
}

/* Whether the process me (its pid as text, ml bytes) is in the cgroup
 * at dirfd or below it. */
static bool holds_at(int dirfd, const char *me, size_t ml, unsigned depth)
{
	_cleanup_free_ char *buf = NULL;
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	int r = nscg_read_fd(fd, 4u << 20, &buf, NULL);
	nscg_close(fd);
	for (char *l = r < 0 ? NULL : buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, me, ml) && (l[ml] == '\n' || l[ml] == '\0'))
			return true;
	if (depth >= NSCG_SUBTREE_MAX_DEPTH)
		return false;
	_cleanup_closedir_ DIR *d = nscg_opendir_at(dirfd);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_close_ int sub = openat(dirfd, de->d_name,
						 O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0 && holds_at(sub, me, ml, depth + 1))
			return true;
	}
	return false;
}

/* Whether pid is in cg, or below it. */
static bool holds(const struct nscg_cgroup *cg, pid_t pid)
{
	char me[24];
	size_t ml = (size_t)snprintf(me, sizeof(me), "%d", (int)pid);

	for (size_t i = 0; i < NSCG_MAX_HIER; i++)
		if (cg->fd[i] >= 0 && holds_at(cg->fd[i], me, ml, 0))
			return true;
	return false;
}

enum tally { REMOVED, STUCK, BUSY };

/* Count one more of what in o->stats, if o counts. */
static void tally(const struct nscg_sweep_opts *o, enum tally what)
{
	if (!o->stats)
		return;
	if (what == REMOVED)
		o->stats->removed++;
	else if (what == STUCK)
		o->stats->stuck++;
	else
		o->stats->busy++;
}

/* One session cgroup of uid: live (1), finished or removed (0, or -errno
 * when its removal failed). */
static int sweep_session(const struct nscg_host *host, const struct nscg_cgroup *user,
			 const char *parent, uid_t uid, const char *name,
			 const struct nscg_sweep_opts *o, const struct nscg_log *log)
{
	struct nscg_cgroup sess;
	struct nscg_record rec;
	bool have_rec = nscg_record_read(uid, name, &rec) == 0 && !strcmp(rec.parent, parent);
	const char *why;
	int r;

	if (have_rec && !rec.closing && nscg_record_leader_alive(&rec))
		return 1;
	nscg_cgroup_open_child(host, user, name, &sess);
	int populated = nscg_cgroup_populated(host, &sess);
	/* Without a record (or with kill_on_close = no), processes mean
	 * someone's session: never killed here, removed once empty. Nor is
	 * a session killed with this process in it, or with its opener,
	 * which is on its way out (its close could not move it back). */
	if (populated != 0 &&
	    (!have_rec || !rec.kill || holds(&sess, getpid()) || holds(&sess, rec.leader))) {
		nscg_cgroup_close(&sess);
		return 1;
	}
	why = !have_rec ? "it is an orphan: no record and no process" :
	      rec.closing ? "its close could not finish" : "its opener is gone";
	if (o->dry_run) {
		nscg_log(log, LOG_INFO, "would remove %s of uid %u: %s", name, (unsigned)uid, why);
		nscg_cgroup_close(&sess);
		tally(o, REMOVED);
		return 0;
	}
	if (populated != 0 && (r = nscg_cgroup_kill(host, &sess, o->kill_timeout_ms)) < 0) {
		nscg_log_errno(log, LOG_WARNING, r, "processes of %s of uid %u survived the kill",
			       name, (unsigned)uid);
		nscg_cgroup_close(&sess);
		tally(o, STUCK);
		return 1; /* the next sweep tries again */
	}
	nscg_cgroup_close(&sess);
	r = nscg_cgroup_rmdir_session(host, user, name, RMDIR_TIMEOUT_MS);
	if (r < 0) {
		tally(o, STUCK);
		return nscg_log_errno(log, LOG_WARNING, r, "cannot remove %s of uid %u", name,
				      (unsigned)uid);
	}
	if (have_rec)
		(void)nscg_record_remove(uid, name);
	nscg_log(log, LOG_INFO, "removed %s of uid %u: %s", name, (unsigned)uid, why);
	tally(o, REMOVED);
	return 0;
}

struct stale_ctx {
	uid_t uid;
	const char *parent;
	const struct names *present;
	bool dry_run;
};

/* A record of uid under parent whose cgroup is gone everywhere. */
static int drop_stale(const struct nscg_record *rec, void *ctx)
{
	const struct stale_ctx *c = ctx;
	const char *name = rec->session;

	/* A record whose opener runs may be of a session being built (the
	 * record comes first) or being closed (the record goes last). */
	if (rec->mode != NSCG_REC_STANDALONE || rec->uid != c->uid || strcmp(rec->parent, c->parent) ||
	    bsearch(&name, c->present->v, c->present->n, sizeof(char *), cmp_str) ||
	    (!rec->closing && nscg_record_leader_alive(rec)))
		return 0;
	if (!c->dry_run)
		(void)nscg_record_remove(rec->uid, rec->session);
	return 0;
}

int nscg_sweep_user(const struct nscg_host *host, const char *parent, uid_t uid,
		    const struct nscg_sweep_opts *o, const struct nscg_log *log)
{
	struct names names = { 0 };
	struct nscg_cgroup user;
	char path[256];
	int live = 0, r = 0;

	snprintf(path, sizeof(path), "%s/user-%u", parent, (unsigned)uid);
	nscg_cgroup_open_existing(host, path, &user);
	/* Every hierarchy: a close under load may have removed a session
	 * from some and not from others. */
	for (size_t i = 0; i < host->n && r == 0; i++)
		if (user.fd[i] >= 0)
			r = list_prefixed(user.fd[i], "session-", &names);
	for (size_t k = 0; k < names.n && r == 0; k++) {
		int s = sweep_session(host, &user, parent, uid, names.v[k], o, log);
		if (s > 0)
			live++;
	}
	if (r == 0) {
		struct stale_ctx c = { uid, parent, &names, o->dry_run };
		(void)nscg_record_each(drop_stale, &c);
	}
	names_free(&names);
	nscg_cgroup_close(&user);
	return r < 0 ? r : live;
}

/* Up to this many sessions a login sweeps them all. */
#define SWEEP_ALWAYS_UP_TO 16

/* Whether the file name under dirfd was touched less than interval
 * seconds ago; if not, touch it (create it if missing). */
static bool touched_recently(int dirfd, const char *name, long interval)
{
	struct timespec now;
	struct stat st;

	clock_gettime(CLOCK_REALTIME, &now);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.tv_sec >= st.st_mtim.tv_sec && now.tv_sec - st.st_mtim.tv_sec < interval)
		return true;
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd >= 0) {
		(void)futimens(fd, NULL);
		nscg_close(fd);
	}
	return false;
}

int nscg_count_sessions(const struct nscg_host *host, const struct nscg_cgroup *cg)
{
	struct names names = { 0 };
	int r = 0;

	for (size_t i = 0; i < host->n; i++) {
		if (cg->fd[i] < 0)
			continue;
		r = list_prefixed(cg->fd[i], "session-", &names);
		break;
	}
	size_t n = names.n;
	names_free(&names);
	return r < 0 ? r : n > INT32_MAX ? INT32_MAX : (int)n;
}

int nscg_sweep_user_at_login(const struct nscg_host *host, const char *parent, uid_t uid,
			     uint64_t max_sessions, const struct nscg_log *log)
{
	const struct nscg_sweep_opts o = { .kill_timeout_ms = 200 };
	struct nscg_cgroup user;
	char path[256], stamp[40];

	snprintf(path, sizeof(path), "%s/user-%u", parent, (unsigned)uid);
	nscg_cgroup_open_existing(host, path, &user);
	int n = nscg_count_sessions(host, &user);
	nscg_cgroup_close(&user);
	if (n < 0)
		return n;
	if (n <= SWEEP_ALWAYS_UP_TO || (max_sessions != NSCG_UNLIMITED && (uint64_t)n >= max_sessions))
		return nscg_sweep_user(host, parent, uid, &o, log);
	_cleanup_close_ int run = nscg_run_dir(log);
	snprintf(stamp, sizeof(stamp), "uid-%u.swept", (unsigned)uid);
	if (run < 0 || !touched_recently(run, stamp, NSCG_SWEEP_INTERVAL_S))
		return nscg_sweep_user(host, parent, uid, &o, log);
	return n;
}

void nscg_release_user_tmp(uid_t uid, int max_logind)
{
	int n = nscg_logind_count_sessions(uid);

	/* No logind (or none built in) is no logind session. */
	if (n == -EOPNOTSUPP || (n >= 0 && n <= max_logind))
		nscg_user_tmp_remove(uid);
}

int nscg_remove_user_cgroup(const struct nscg_host *host, const char *parent, uid_t uid)
{
	struct nscg_cgroup p;
	char uname[32];
	int r;

	nscg_cgroup_open_existing(host, parent, &p);
	snprintf(uname, sizeof(uname), "user-%u", (unsigned)uid);
	r = nscg_cgroup_rmdir(host, &p, uname, 0);
	nscg_cgroup_close(&p);
	if (r == 0)
		nscg_release_user_tmp(uid, 0);
	return r;
}

static int add_tmp_uid(uid_t uid, void *ctx)
{
	char name[32];

	snprintf(name, sizeof(name), "user-%u", (unsigned)uid);
	return names_add(ctx, name);
}

struct uids_ctx {
	const char *parent;
	struct names *users;
};

static int add_record_uid(const struct nscg_record *rec, void *ctx)
{
	const struct uids_ctx *c = ctx;
	char name[32];

	if (rec->mode != NSCG_REC_STANDALONE || strcmp(rec->parent, c->parent))
		return 0;
	snprintf(name, sizeof(name), "user-%u", (unsigned)rec->uid);
	return names_add(c->users, name);
}

struct unit_ctx {
	const struct nscg_host *host;
	const struct nscg_sweep_opts *o;
	const struct nscg_log *log;
};

/* A record of a systemd unit whose opener is gone and whose cgroup is
 * gone everywhere: systemd ended the session, and its close never ran. */
static int drop_stale_unit(const struct nscg_record *rec, void *ctx)
{
	const struct unit_ctx *c = ctx;
	struct nscg_cgroup cg;
	bool exists = false;

	if (rec->mode == NSCG_REC_STANDALONE || nscg_record_leader_alive(rec))
		return 0;
	nscg_cgroup_open_existing(c->host, rec->cgroup, &cg);
	for (size_t i = 0; i < c->host->n; i++)
		exists |= cg.fd[i] >= 0;
	nscg_cgroup_close(&cg);
	if (exists)
		return 0;
	nscg_log(c->log, LOG_INFO, "%s the record of %s of uid %u: its unit is gone",
		 c->o->dry_run ? "would remove" : "removed", rec->session, (unsigned)rec->uid);
	if (!c->o->dry_run)
		(void)nscg_record_remove(rec->uid, rec->session);
	tally(c->o, REMOVED);
	return 0;
}

int nscg_sweep_all(const struct nscg_host *host, const char *parent,
		   const struct nscg_sweep_opts *o, const struct nscg_log *log)
{
	const struct unit_ctx uc = { host, o, log };
	struct names users = { 0 };
	struct nscg_cgroup p;
	int r = 0, done = 0;

	nscg_cgroup_open_existing(host, parent, &p);
	for (size_t i = 0; i < host->n && r == 0; i++)
		if (p.fd[i] >= 0)
			r = list_prefixed(p.fd[i], "user-", &users);
	nscg_cgroup_close(&p);
	struct uids_ctx c = { parent, &users };
	if (r == 0)
		r = nscg_record_each(add_record_uid, &c);
	if (r == 0)
		r = nscg_user_tmp_each(add_tmp_uid, &users);
	uint64_t deadline = o->budget_ms ? nscg_now_ms() + o->budget_ms : 0;
	for (size_t k = 0; k < users.n && r == 0; k++) {
		uint64_t uid;
		if ((o->max_users && k >= o->max_users) || (deadline && nscg_now_ms() >= deadline))
			break;
		if (nscg_parse_u64(users.v[k] + 5, &uid) < 0 || uid >= UINT32_MAX)
			continue; /* not one of ours */
		int live = nscg_sweep_user(host, parent, (uid_t)uid, o, log);
		done++;
		if (live != 0 || o->dry_run)
			continue;
		/* Beside a login counting its sessions, not under it. */
		int lock = nscg_lock_uid((uid_t)uid, o->lock_timeout_ms, o->lock_timeout_ms ? log : NULL);
		if (lock < 0) {
			tally(o, BUSY); /* a login or close of that uid is at it */
			continue;
		}
		nscg_remove_user_cgroup(host, parent, (uid_t)uid);
		nscg_close(lock);
	}
	names_free(&users);
	if (r == 0)
		r = nscg_record_each(drop_stale_unit, (void *)&uc);
	return r < 0 ? r : done;
}

void nscg_sweep_rate_limited(const struct nscg_host *host, const char *parent,
			     const struct nscg_log *log)
{
	const struct nscg_sweep_opts o = {
		.kill_timeout_ms = 200, .lock_timeout_ms = 0, .max_users = 64,
		.budget_ms = 500,
	};
	_cleanup_close_ int dfd = nscg_run_dir(log);
	_cleanup_close_ int lock = -1;
	struct stat st;
	struct timespec now;

	if (dfd < 0)
		return;
	/* A look without the lock first: nearly every login stops here. */
	clock_gettime(CLOCK_REALTIME, &now);
	if (fstatat(dfd, STAMP, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.tv_sec >= st.st_mtim.tv_sec && now.tv_sec - st.st_mtim.tv_sec < NSCG_SWEEP_INTERVAL_S)
		return;
	/* One sweeper at a time; the others go on with their login. The
	 * stamp is looked at again: another may have just finished. */
	lock = openat(dfd, SWEEP_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0 ||
	    touched_recently(dfd, STAMP, NSCG_SWEEP_INTERVAL_S))
		return;
	(void)nscg_sweep_all(host, parent, &o, log);
}
