/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session.h"

#include "record.h"
#include "sweep.h"
#include "systemd.h"
#include "usertmp.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a close waits for the session's processes to die: under load
 * (hundreds of logins ending at once) SIGKILLed processes can take
 * seconds to leave their cgroup. */
#define KILL_TIMEOUT_MS 10000
#define RMDIR_TIMEOUT_MS 500
#define MAX_DIAGS_LOGGED 10
/* Tasks a login needs free under user.pids.max to start at all. */
#define NSCG_LOGIN_TASKS 4u

void nscg_session_free(struct nscg_session *s)
{
	if (!s)
		return;
	nscg_cgroup_close(&s->orig);
	nscg_cgroup_close(&s->user);
	nscg_cgroup_close(&s->sess);
	nscg_ns_close(&s->saved);
	nscg_host_close(&s->host);
	free(s);
}

/* setns into a mount namespace fails with EINVAL when the fs_struct is
 * shared, i.e. in a multithreaded caller; refuse those up front. */
static int thread_count(void)
{
	_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;

	if (fd < 0 || nscg_read_fd(fd, 1 << 16, &buf, NULL) < 0)
		return -EIO;
	const char *t = strstr(buf, "\nThreads:");
	return t ? atoi(t + 9) : -EIO;
}


/* The cgroup of a process in each used hierarchy, from procfile
 * (/proc/PID/cgroup); with leaf, only in the hierarchies where its last
 * component is leaf. */
static int open_cgroups_of(const char *procfile, const struct nscg_host *h, const char *leaf,
			   struct nscg_cgroup *out)
{
	_cleanup_close_ int fd = open(procfile, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;

	nscg_cgroup_init(out);
	if (fd < 0 || nscg_read_fd(fd, 1 << 16, &buf, NULL) < 0)
		return -EIO;
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		for (size_t i = 0; i < h->n; i++) {
			const struct nscg_hier *hi = &h->h[i];
			const char *mname = strrchr(hi->mount, '/') + 1;
			bool v2 = hi->ops == &nscg_backend_v2;
			/* v2 is "0::"; a v1 line lists the hierarchy's
			 * controllers, as its mount directory is named. */
			if (!nscg_hier_used(hi) || out->fd[i] >= 0 ||
			    (v2 ? *ctrls != '\0' : strcmp(ctrls, mname)))
				continue;
			if (leaf && strcmp(strrchr(path, '/') ? strrchr(path, '/') + 1 : path, leaf))
				continue;
			out->fd[i] = openat(hi->root_fd, path[1] ? path + 1 : ".",
					    O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (out->fd[i] < 0) {
				int r = -errno;
				nscg_cgroup_close(out);
				return r;
			}
		}
	}
	return 0;
}

/* The uid whose sandbox holds this process, from the first component
 * "user-UID" (standalone) or "user-UID.slice" (systemd) of its cgroup
 * paths as the initial cgroup namespace shows them; -ENOENT if none. */
static int sandbox_owner(uid_t *owner)
{
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;

	if (fd < 0 || nscg_read_fd(fd, 1 << 16, &buf, NULL) < 0)
		return -EIO;
	for (char *c = strstr(buf, "/user-"); c; c = strstr(c + 1, "/user-")) {
		char digits[16];
		size_t n = strspn(c + 6, "0123456789");
		uint64_t uid;
		if (n == 0 || n >= sizeof(digits) ||
		    (c[6 + n] != '/' && c[6 + n] != '\n' && strncmp(c + 6 + n, ".slice", 6)))
			continue;
		memcpy(digits, c + 6, n);
		digits[n] = '\0';
		if (nscg_parse_u64(digits, &uid) == 0 && uid < UINT32_MAX) {
			*owner = (uid_t)uid;
			return 0;
		}
	}
	return -ENOENT;
}

/* Into PID 1's cgroups, in every used hierarchy of the host. */
static int move_to_init_cgroups(const struct nscg_log *log)
{
	struct nscg_host host;
	struct nscg_cgroup init;
	int r;

	if ((r = nscg_host_detect(NULL, &host, log)) < 0)
		return r;
	r = open_cgroups_of("/proc/1/cgroup", &host, NULL, &init);
	if (r == 0) {
		r = nscg_cgroup_attach(&host, &init, 0);
		nscg_cgroup_close(&init);
	}
	nscg_host_close(&host);
	return r < 0 ? nscg_log_errno(log, LOG_ERR, r, "cannot move to the cgroups of PID 1") : 0;
}

/* A login opened from inside a sandbox (su, login, runuser there):
 *  - of the sandbox's own user: it stays where it is (SKIPPED);
 *  - of anyone else: it leaves for the host's cgroups and namespaces,
 *    those of PID 1 (SANDBOXED: go on), so that an exempt login (root)
 *    does not run under the user's limits and die at the user's logout,
 *    and another user gets a sandbox of their own, not this one.
 * A cgroup namespace that is none of ours (PID 1's differs, no user-UID
 * in the paths) is left alone, as before (SKIPPED). The caller is
 * single-threaded (setns into a mount namespace needs that). */
static enum nscg_open_result leave_sandbox(const struct passwd *pw, const struct nscg_log *log)
{
	_cleanup_close_ int own = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	enum nscg_open_result ret = NSCG_OPEN_FAILED;
	struct nscg_ns_saved host;
	struct stat a, b;
	uid_t owner;
	int r;

	if (own < 0 || fstat(own, &a) < 0) {
		nscg_log_errno(log, LOG_ERR, -errno, "cannot read the cgroup namespace");
		return NSCG_OPEN_FAILED;
	}
	if (nscg_ns_open_host(&host) < 0) {
		if (a.st_ino == NSCG_CGROUP_INIT_INO)
			return NSCG_OPEN_SANDBOXED;
		nscg_log(log, LOG_INFO, "%s: login from inside a cgroup namespace; not sandboxed again",
			 pw->pw_name);
		return NSCG_OPEN_SKIPPED;
	}
	if (fstat(host.fd[0], &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		nscg_ns_close(&host);
		return NSCG_OPEN_SANDBOXED; /* in the host's: nothing to leave */
	}
	/* Whose sandbox: its paths as the host sees them. */
	if (setns(host.fd[0], CLONE_NEWCGROUP) < 0) {
		nscg_log_errno(log, LOG_ERR, -errno, "cannot enter the host's cgroup namespace");
		goto out;
	}
	r = sandbox_owner(&owner);
	if (r < 0 || owner == pw->pw_uid) {
		if (setns(own, CLONE_NEWCGROUP) < 0) {
			nscg_log_errno(log, LOG_ERR, -errno, "cannot return to the cgroup namespace");
			goto out;
		}
		nscg_log(log, LOG_INFO, r < 0 ?
				 "%s: login from inside a cgroup namespace that is not a pam_nscg session; not sandboxed again" :
				 "%s: nested login inside a sandboxed session; not sandboxed again",
			 pw->pw_name);
		ret = NSCG_OPEN_SKIPPED;
		goto out;
	}
	if ((r = nscg_ns_restore(&host, NSCG_NS_ALL)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot enter the host's namespaces");
		goto out;
	}
	if (move_to_init_cgroups(log) < 0)
		goto out;
	nscg_log(log, LOG_NOTICE,
		 "%s: login from inside the sandbox of uid %u; moved to the host's cgroups and namespaces",
		 pw->pw_name, (unsigned)owner);
	ret = NSCG_OPEN_SANDBOXED;
out:
	nscg_ns_close(&host);
	return ret;
}

#define LOCK_TIMEOUT_MS 5000

/* The hostname template with %u, %h, %s expanded; characters a hostname
 * cannot hold become '-'. */
static void expand_hostname(const char *tpl, const char *user, const char *sid,
			    char *out, size_t len)
{
	char host[65] = "";
	size_t o = 0;

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = '\0';
	for (const char *t = tpl; *t && o + 1 < len; t++) {
		const char *sub = NULL;
		if (*t == '%' && t[1]) {
			t++;
			sub = *t == 'u' ? user : *t == 'h' ? host : *t == 's' ? sid : "%";
		}
		for (const char *c = sub ? sub : t; *c && o + 1 < len; c++) {
			char ch = *c;
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
			out[o++] = ok || (!sub && ch == '%') ? ch : '-';
			if (!sub)
				break;
		}
	}
	out[o] = '\0';
}

static void log_policy_errors(const struct nscg_policy *p, const struct nscg_log *log)
{
	size_t shown = 0;

	for (size_t i = 0; i < nscg_policy_diag_count(p) && shown < MAX_DIAGS_LOGGED; i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		if (!d->error)
			continue;
		nscg_log(log, LOG_ERR, "%s:%u: %s", d->file ? d->file : "?", d->line, d->msg);
		shown++;
	}
}

/* Undo a half-built standalone session: back to where the caller was,
 * remove what this open made (a session cgroup made in some hierarchies
 * only, too), its record, and the user cgroup if it holds no session. */
static void undo(struct nscg_session *s)
{
	char path[256];

	(void)nscg_cgroup_attach(&s->host, &s->orig, 0);
	if (s->name[0]) {
		struct nscg_cgroup user;
		snprintf(path, sizeof(path), "%s/user-%u", s->parent, (unsigned)s->uid);
		nscg_cgroup_open_existing(&s->host, path, &user);
		if (nscg_cgroup_rmdir(&s->host, &user, s->name, RMDIR_TIMEOUT_MS) == 0)
			(void)nscg_record_remove(s->uid, s->name);
		nscg_cgroup_close(&user);
	}
	nscg_remove_user_cgroup(&s->host, s->parent, s->uid);
}

static const char *origin_file(const struct nscg_value *v)
{
	return v->origin.file ? v->origin.file : "built-in";
}

static void log_refusal(const char *user, int live, const struct nscg_value *max,
			const struct nscg_log *log)
{
	nscg_log(log, LOG_NOTICE,
		 "refusing a login of %s: %d sessions are open and max_sessions is %llu (%s:%u)",
		 user, live, (unsigned long long)max->num, origin_file(max), max->origin.line);
}

/* Whether the user's tasks leave no room for a login under
 * user.pids.max: the login's own processes (the caller, the shell, the
 * helper for a moment, sshd's session child) would be refused their
 * fork. The user caused it from inside their own limits, so on_error has
 * no say: the login gets a clear refusal, never an unconfined way in.
 * (The kernel never refuses the move of a process into a full cgroup,
 * only a fork there: what pam_nscg itself starts is forked outside.) */
static bool no_room_for_a_login(const struct nscg_session *s, const char *user,
				const struct nscg_log *log)
{
	uint64_t cur, max;

	if (nscg_cgroup_pids(&s->host, &s->user, &cur, &max) < 0 || max == NSCG_UNLIMITED ||
	    cur + NSCG_LOGIN_TASKS <= max)
		return false;
	nscg_log(log, LOG_NOTICE,
		 "refusing a login of %s: the user's processes fill user.pids.max (%llu of %llu tasks; a login needs %u free); on_error does not apply to a limit the user filled",
		 user, (unsigned long long)cur, (unsigned long long)max, NSCG_LOGIN_TASKS);
	return true;
}

/* A fresh session name, and its record written (before the session
 * cgroup exists: a session cgroup without a record is then never one
 * being built, and a sweep may take it for an orphan without the lock). */
static int new_session_record(struct nscg_session *s, const char *user,
			      const struct nscg_log *log)
{
	uint32_t rnd;
	struct nscg_record rec = {
		.uid = s->uid, .leader = s->opener,
		.leader_start = nscg_pid_start_time(s->opener), .kill = s->kill_on_close,
	};

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return nscg_log_errno(log, LOG_ERR, -errno, "getrandom");
	snprintf(s->name, sizeof(s->name), "session-%08x", rnd);
	snprintf(rec.user, sizeof(rec.user), "%s", user);
	snprintf(rec.session, sizeof(rec.session), "%s", s->name);
	snprintf(rec.parent, sizeof(rec.parent), "%s", s->parent);
	return nscg_record_write(&rec, log);
}

/* Make the session cgroup in every hierarchy, and on the way the parent
 * and the user cgroup where missing. Logins take no lock for it: a close
 * may remove the user cgroup between this walk making it and making the
 * session in it (ENOENT), and then the walk is tried again; once the
 * session exists, the user cgroup holds it and no close can remove it.
 * Then the user cgroup is opened, and max_sessions (under the uid lock,
 * which only logins counting sessions take) and the room under
 * user.pids.max are checked. */
static enum nscg_open_result make_session(struct nscg_session *s,
					  const struct nscg_resolved *res,
					  const char *user,
					  const struct nscg_log *log)
{
	const struct nscg_value *max = &res->v[NSCG_KEY_MAX_SESSIONS];
	_cleanup_close_ int lock_fd = -1;
	char path[256];
	int races = 0, live = 0;

	if (max->num != NSCG_UNLIMITED) {
		/* Counting and making, one login of the uid at a time. */
		if ((lock_fd = nscg_lock_uid(s->uid, LOCK_TIMEOUT_MS, log)) < 0)
			return NSCG_OPEN_FAILED;
		snprintf(path, sizeof(path), "%s/user-%u", s->parent, (unsigned)s->uid);
		struct nscg_cgroup ucg;
		nscg_cgroup_open_existing(&s->host, path, &ucg);
		live = nscg_count_sessions(&s->host, &ucg);
		nscg_cgroup_close(&ucg);
		if (live < 0 && live != -ENOENT) {
			nscg_log_errno(log, LOG_ERR, live, "cannot list the sessions of uid %u",
				       (unsigned)s->uid);
			return NSCG_OPEN_FAILED;
		}
		if (live > 0 && (uint64_t)live >= max->num) {
			log_refusal(user, live, max, log);
			return NSCG_OPEN_REFUSED;
		}
	}
	/* A fresh name: mkdir must create it, so an orphan is never reused. */
	for (int tries = 0; tries < 8;) {
		bool created = false;
		snprintf(path, sizeof(path), "%s/user-%u/%s", s->parent, (unsigned)s->uid, s->name);
		/* On failure the name stays, for undo to remove what was
		 * made in some hierarchies. A race with a close is quiet. */
		int r = nscg_cgroup_open(&s->host, path, true, &s->sess, &created,
					 races < 3 ? NULL : log);
		if (r == -ENOENT && races < 3) {
			races++;
			continue;
		}
		if (r < 0) {
			if (races >= 3)
				return NSCG_OPEN_FAILED;
			/* Logged quietly above: say it now. */
			nscg_log_errno(log, LOG_ERR, r, "cannot create %s", path);
			return NSCG_OPEN_FAILED;
		}
		if (created)
			break;
		/* Taken (an orphan of the same name): its record was ours. */
		nscg_cgroup_close(&s->sess);
		(void)nscg_record_remove(s->uid, s->name);
		if (++tries == 8 || new_session_record(s, user, log) < 0) {
			s->name[0] = '\0';
			return NSCG_OPEN_FAILED;
		}
	}
	snprintf(path, sizeof(path), "%s/user-%u", s->parent, (unsigned)s->uid);
	if (nscg_cgroup_open(&s->host, path, false, &s->user, NULL, log) < 0)
		return NSCG_OPEN_FAILED;
	if (no_room_for_a_login(s, user, log))
		return NSCG_OPEN_REFUSED;
	return NSCG_OPEN_SANDBOXED;
}

/* Standalone mode: make <parent>/user-UID/session-ID in every hierarchy,
 * write the limits and move the caller in. On failure what was made is
 * removed again (s->name names the session cgroup once tried). */
static enum nscg_open_result open_standalone(struct nscg_session *s,
					     const struct nscg_resolved *res,
					     const char *user,
					     const struct nscg_log *log)
{
	enum nscg_open_result ret;
	struct nscg_limits lim;
	int r;

	/* The user's sessions nobody will close go first. */
	(void)nscg_sweep_user_at_login(&s->host, s->parent, s->uid,
				       res->v[NSCG_KEY_MAX_SESSIONS].num, log);
	if (new_session_record(s, user, log) < 0) {
		s->name[0] = '\0';
		return NSCG_OPEN_FAILED;
	}
	ret = make_session(s, res, user, log);
	if (ret != NSCG_OPEN_SANDBOXED) {
		undo(s);
		return ret;
	}
	/* The user's limits every time: the policy may have changed. */
	nscg_resolved_limits(res, NSCG_LEVEL_USER, &lim);
	if (nscg_cgroup_apply(&s->host, &s->user, &lim, "user", log) < 0)
		goto fail;
	nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &lim);
	if (nscg_cgroup_apply(&s->host, &s->sess, &lim, "session", log) < 0)
		goto fail;
	if ((r = nscg_cgroup_attach(&s->host, &s->sess, 0)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot move the login into %s", s->name);
		goto fail;
	}
	snprintf(s->where, sizeof(s->where), "%s/user-%u/%s", s->parent,
		 (unsigned)s->uid, s->name);
	return NSCG_OPEN_SANDBOXED;
fail:
	undo(s);
	return NSCG_OPEN_FAILED;
}

/* systemd applies these on cgroup v2 only: say so on other layouts. */
static void log_v1_unapplied(const struct nscg_limits *ulim, const struct nscg_limits *slim,
			     const struct nscg_log *log)
{
	static const struct {
		enum nscg_limit limit;
		const char *key;
	} v2only[] = {
		{ NSCG_MEMORY_HIGH, "memory.high" },
		{ NSCG_MEMORY_SWAP_MAX, "memory.swap.max" },
		{ NSCG_CPUSET_CPUS, "cpuset.cpus" },
	};
	char keys[160] = "";
	size_t o = 0;

	for (size_t i = 0; i < ELEMENTSOF(v2only); i++)
		if ((ulim->set[v2only[i].limit] || slim->set[v2only[i].limit]) && o < sizeof(keys))
			o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s", o ? ", " : "",
					      v2only[i].key);
	if (o)
		nscg_log(log, LOG_NOTICE,
			 "systemd applies %s only on cgroup v2; this host is not pure v2, so they are not applied",
			 keys);
}

/* systemd mode: the caller is in logind's scope already (s->orig). The
 * limits go to systemd as unit properties; nothing is created. */
static enum nscg_open_result open_systemd(struct nscg_session *s,
					  const struct nscg_logind_session *ls,
					  const struct nscg_resolved *res,
					  const char *user,
					  const struct nscg_log *log)
{
	struct nscg_limits ulim, slim;

	/* The other logind sessions of the user: ours is one of them. */
	const struct nscg_value *max = &res->v[NSCG_KEY_MAX_SESSIONS];
	if (max->num != NSCG_UNLIMITED) {
		int n = nscg_logind_count_sessions(s->uid);
		if (n < 0) {
			nscg_log_errno(log, LOG_ERR, n, "cannot count the logind sessions of uid %u",
				       (unsigned)s->uid);
			return NSCG_OPEN_FAILED;
		}
		int live = n > 0 ? n - 1 : 0;
		if ((uint64_t)live >= max->num) {
			log_refusal(user, live, max, log);
			return NSCG_OPEN_REFUSED;
		}
	}
	nscg_resolved_limits(res, NSCG_LEVEL_USER, &ulim);
	nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &slim);
	/* The slice keeps runtime properties past the session: reset what
	 * the policy leaves unset. The scope is new with each login. What
	 * the user starts through their systemd manager (systemd-run --user,
	 * D-Bus activation) runs in user@UID.service, outside the scope:
	 * with limit_user_manager it gets a session's limits too, else none
	 * of its own (reset: the unit outlives the session as the slice). */
	struct nscg_limits none = { 0 };
	char manager[48];
	snprintf(manager, sizeof(manager), "user@%u.service", (unsigned)s->uid);
	const struct nscg_unit_limits units[] = {
		{ ls->slice, &ulim, true },
		{ ls->scope, &slim, false },
		{ manager, res->v[NSCG_KEY_LIMIT_USER_MANAGER].num ? &slim : &none, true },
	};
	if (s->host.layout != NSCG_LAYOUT_V2)
		log_v1_unapplied(&ulim, &slim, log);
	if (nscg_sd_set_limits(units, ELEMENTSOF(units), s->bus_timeout_ms, log) < 0)
		return NSCG_OPEN_FAILED;
	/* The scope, for the usage at close (read, never written): opened
	 * now, as systemd may have just put it into more hierarchies. */
	int r = open_cgroups_of("/proc/self/cgroup", &s->host, ls->scope, &s->sess);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open %s", ls->scope);
		return NSCG_OPEN_FAILED;
	}
	snprintf(s->name, sizeof(s->name), "%s", ls->scope);
	snprintf(s->logind_id, sizeof(s->logind_id), "%s", ls->id);
	snprintf(s->where, sizeof(s->where), "%s/%s (systemd)", ls->slice, ls->scope);
	return NSCG_OPEN_SANDBOXED;
}

/* A login that is no logind session, on a systemd machine (a cron or at
 * job): a transient scope nscg-UID-ID.scope in user-UID.slice, started
 * with the caller and the helper in it and the session.* limits; the
 * user.* limits on the slice. systemd's own way to a cgroup in its tree,
 * as systemd-run --scope; nothing of pam_nscg's own there. */
static enum nscg_open_result open_job(struct nscg_session *s, const struct nscg_resolved *res,
				      const char *user, const char *service, pid_t helper,
				      const struct nscg_log *log)
{
	struct nscg_limits ulim, slim;
	char slice[40], description[320];
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		nscg_log_errno(log, LOG_ERR, -errno, "getrandom");
		return NSCG_OPEN_FAILED;
	}
	snprintf(s->logind_id, sizeof(s->logind_id), "%08x", rnd);
	snprintf(s->name, sizeof(s->name), "nscg-%u-%08x.scope", (unsigned)s->uid, rnd);
	snprintf(slice, sizeof(slice), "user-%u.slice", (unsigned)s->uid);
	snprintf(description, sizeof(description), "pam_nscg session of %s (%s)", user,
		 service ? service : "no service");
	nscg_resolved_limits(res, NSCG_LEVEL_USER, &ulim);
	nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &slim);
	if (s->host.layout != NSCG_LAYOUT_V2)
		log_v1_unapplied(&ulim, &slim, log);
	/* Where close moves the caller back to, before it ends the scope. */
	if (nscg_sd_pid_unit(getpid(), s->orig_unit, sizeof(s->orig_unit)) < 0)
		s->orig_unit[0] = '\0';
	const pid_t pids[] = { getpid(), helper };
	if (nscg_sd_start_scope(s->name, slice, pids, helper > 0 ? 2 : 1, description, &slim,
				s->bus_timeout_ms, log) < 0)
		return NSCG_OPEN_FAILED;
	/* Now that the slice is loaded: its limits, unset ones reset. */
	const struct nscg_unit_limits units[] = { { slice, &ulim, true } };
	if (nscg_sd_set_limits(units, 1, s->bus_timeout_ms, log) < 0)
		return NSCG_OPEN_FAILED;
	int r = open_cgroups_of("/proc/self/cgroup", &s->host, s->name, &s->sess);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open %s", s->name);
		return NSCG_OPEN_FAILED;
	}
	snprintf(s->where, sizeof(s->where), "%s/%s (systemd)", slice, s->name);
	return NSCG_OPEN_SANDBOXED;
}

/* What a login's sandbox is made of. */
enum kind {
	KIND_STANDALONE, /* cgroups of pam_nscg's own */
	KIND_LOGIND, /* the logind session's scope (systemd mode) */
	KIND_JOB, /* no logind session on a systemd machine: a transient scope */
};

/* Which mode this login gets, from the policy's mode and whether the
 * caller is in a logind session scope. SKIPPED: the caller is in another
 * user's logind session (su, runuser): that session's limits hold. */
static enum nscg_open_result pick_mode(const struct nscg_policy *p, uid_t uid,
				       const char *user,
				       struct nscg_logind_session *ls, enum kind *kind,
				       const struct nscg_log *log)
{
	enum nscg_mode mode = (enum nscg_mode)nscg_policy_global(p, NSCG_KEY_MODE)->num;
	int in = mode == NSCG_MODE_STANDALONE ? 0 : nscg_logind_current(ls);

	*kind = KIND_STANDALONE;
	if (in < 0) {
		nscg_log_errno(log, LOG_ERR, in, "cannot read /proc/self/cgroup");
		return NSCG_OPEN_FAILED;
	}
	if (!in) {
		/* No logind session (cron, at, su from a service): on a
		 * systemd machine, a transient scope of the login's own;
		 * never a cgroup of pam_nscg's in systemd's tree. */
		if (mode != NSCG_MODE_STANDALONE && nscg_have_systemd() && nscg_systemd_booted()) {
			*kind = KIND_JOB;
			return NSCG_OPEN_SANDBOXED;
		}
		if (mode != NSCG_MODE_SYSTEMD)
			return NSCG_OPEN_SANDBOXED;
		nscg_log(log, LOG_ERR,
			 "mode = systemd, but the login of %s is not in a logind session and systemd does not run this machine; pam_systemd must come before pam_nscg",
			 user);
		return NSCG_OPEN_FAILED;
	}
	/* pam_systemd registers the PAM caller as the session's leader: any
	 * other caller (su, sudo, runuser, to the same user too) runs inside
	 * a session that is not this login's. */
	if (ls->uid != uid || (nscg_have_systemd() && ls->leader != getpid())) {
		nscg_log(log, LOG_INFO,
			 "%s: login from inside logind session %s of uid %u; not sandboxed again",
			 user, ls->id, (unsigned)ls->uid);
		return NSCG_OPEN_SKIPPED;
	}
	if (!nscg_have_systemd()) {
		nscg_log(log, LOG_ERR,
			 "the login of %s is logind session %s, but pam_nscg was built without systemd support; set mode = standalone to sandbox it outside systemd's cgroups",
			 user, ls->id);
		return NSCG_OPEN_FAILED;
	}
	*kind = KIND_LOGIND;
	return NSCG_OPEN_SANDBOXED;
}

/* The user cgroup is the uid's, shared by every name of that uid: its
 * limits (user.*) and max_sessions come from the policy of the uid's
 * first passwd entry, whichever name logs in, so that two names of one
 * uid cannot rewrite each other's user cgroup. *canon holds those values
 * (*have_canon says whether it was filled) and must outlive res. */
static int uid_level_policy(const struct nscg_policy *p, const struct passwd *pw,
			    const char *service, struct nscg_resolved *res,
			    struct nscg_resolved *canon, bool *have_canon,
			    const struct nscg_log *log)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd first;
	char **groups = NULL;
	size_t ngroups = 0;
	int r;

	*have_canon = false;
	r = nscg_getpwuid(pw->pw_uid, &first, &buf);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up uid %u", (unsigned)pw->pw_uid);
	if (!strcmp(first.pw_name, pw->pw_name))
		return 0;
	r = nscg_user_groups(first.pw_name, first.pw_gid, &groups, &ngroups);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", first.pw_name);
	struct nscg_request rq = { .user = first.pw_name, .groups = (const char *const *)groups,
				   .ngroups = ngroups, .service = service };
	r = nscg_policy_resolve(p, &rq, canon);
	nscg_strv_free(groups, ngroups);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot resolve the policy for %s", first.pw_name);
	*have_canon = true;
	res->v[NSCG_KEY_MAX_SESSIONS] = canon->v[NSCG_KEY_MAX_SESSIONS];
	for (int k = 0; k < NSCG_LIMIT_COUNT; k++) {
		enum nscg_key key = nscg_limit_key(NSCG_LEVEL_USER, (enum nscg_limit)k);
		res->v[key] = canon->v[key];
	}
	nscg_log(log, LOG_INFO,
		 "%s shares uid %u with %s: the user-level limits and max_sessions are %s's",
		 pw->pw_name, (unsigned)pw->pw_uid, first.pw_name, first.pw_name);
	return 0;
}

/* The size of a private tmpfs: as the policy says, or for auto a quarter
 * of the session's memory limit (else of the user's; else the kernel's
 * default, half the RAM), so that its pages alone cannot fill the
 * session's memory, where the OOM killer, finding nobody's memory to
 * take, may choose the root process that has to close the session. */
static uint64_t tmpfs_size(const struct nscg_resolved *res, enum nscg_key key)
{
	static const enum nscg_level levels[] = { NSCG_LEVEL_SESSION, NSCG_LEVEL_USER };

	if (res->v[key].num != NSCG_TMPFS_AUTO)
		return res->v[key].num;
	for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
		const struct nscg_value *m = &res->v[nscg_limit_key(levels[i], NSCG_MEMORY_MAX)];
		if (m->set && m->num != NSCG_UNLIMITED)
			return m->num / 4;
	}
	return 0;
}

/* The fresh tmpfs mounts of the session: a private /dev/shm and, with
 * private_tmp = session, /tmp; they need the mount namespace. */
static void private_mounts(const struct nscg_resolved *res, unsigned ns_mask,
			   struct nscg_private_mounts *pm)
{
	bool mnt = ns_mask & NSCG_NS_MOUNT;

	pm->shm = mnt && res->v[NSCG_KEY_PRIVATE_SHM].num;
	pm->tmp = mnt && res->v[NSCG_KEY_PRIVATE_TMP].num == NSCG_TMP_SESSION;
	pm->shm_size = tmpfs_size(res, NSCG_KEY_SHM_SIZE);
	pm->tmp_size = tmpfs_size(res, NSCG_KEY_TMP_SIZE);
}

/* Errors a user can cause from inside their own limits: a fork refused
 * by a full pids cgroup (EAGAIN), memory the user's cgroups cannot give
 * (ENOMEM). */
static bool user_may_cause(int r)
{
	return r == -EAGAIN || r == -ENOMEM;
}

/* A login that could not be sandboxed for a reason the user may have
 * caused is refused whatever on_error says: on_error is for faults of
 * the host or the admin, and must never be a way out of the sandbox. */
static enum nscg_open_result refuse_user_caused(const char *user, int r,
						const struct nscg_log *log)
{
	nscg_log_errno(log, LOG_NOTICE, r,
		       "refusing a login of %s: it cannot be sandboxed within the user's own limits, which the user's processes may fill; on_error does not apply",
		       user);
	return NSCG_OPEN_REFUSED;
}

enum nscg_open_result nscg_session_open(const struct nscg_open_req *req,
					const struct nscg_log *log,
					struct nscg_session **out,
					enum nscg_on_error *on_error)
{
	struct nscg_load_opts opts = { .trusted_uid = 0 };
	struct nscg_policy *p = NULL;
	struct nscg_session *s = NULL;
	struct nscg_resolved res = { 0 }, canon = { 0 };
	struct nscg_logind_session ls;
	struct passwd pw;
	_cleanup_free_ char *pwbuf = NULL;
	char **groups = NULL, esc[96];
	size_t ngroups = 0;
	bool have_canon = false;
	enum kind kind;
	enum nscg_open_result ret = NSCG_OPEN_FAILED;
	struct nscg_helper helper = { .pid = -1, .sock = -1 };
	int r, helper_fd = -1, tmp_fd = -1;

	*out = NULL;
	*on_error = NSCG_ON_ERROR_DENY;
	if (!req->user || !nscg_name_is_valid(req->user)) {
		nscg_log(log, LOG_ERR, "refusing the user name \"%s\"",
			 nscg_escape(req->user, esc, sizeof(esc)));
		return NSCG_OPEN_FAILED;
	}
	/* First: setns needs a single-threaded caller, and the policy
	 * loader relies on it too (see ini_load_bytes). */
	if ((r = thread_count()) != 1) {
		nscg_log(log, LOG_ERR,
			 "the calling process has %d threads; namespaces can only be joined by a single-threaded caller", r);
		return NSCG_OPEN_FAILED;
	}
	r = nscg_policy_load(req->conf, &opts, &p);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot load the policy");
		return NSCG_OPEN_FAILED;
	}
	*on_error = (enum nscg_on_error)nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num;
	/* A policy with errors is never applied, but what it exempts stays
	 * exempt (its broken lines are skipped): a typo must not lock root
	 * out along with everybody else. */
	bool broken = nscg_policy_errors(p) != 0;
	if (broken) {
		log_policy_errors(p, log);
		nscg_log(log, LOG_ERR, "the policy has %u errors; run nscgctl check",
			 nscg_policy_errors(p));
	}
	if (geteuid() != 0) {
		nscg_log(log, LOG_ERR, "not running as root; cannot sandbox the session");
		goto out;
	}
	r = nscg_getpwnam(req->user, &pw, &pwbuf);
	if (r == -ENOENT) {
		nscg_log(log, LOG_ERR, "unknown user \"%s\"", nscg_escape(req->user, esc, sizeof(esc)));
		goto out;
	}
	if (r < 0) {
		/* A failed lookup (ENOMEM, an NSS outage) is not "no such user". */
		nscg_log_errno(log, LOG_ERR, r, "cannot look up the user \"%s\"",
			       nscg_escape(req->user, esc, sizeof(esc)));
		goto out;
	}
	r = nscg_user_groups(pw.pw_name, pw.pw_gid, &groups, &ngroups);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", pw.pw_name);
		goto out;
	}
	struct nscg_request rq = { .user = pw.pw_name, .groups = (const char *const *)groups,
				   .ngroups = ngroups, .service = req->service };
	r = nscg_policy_resolve(p, &rq, &res);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot resolve the policy for %s", pw.pw_name);
		goto out;
	}
	/* A login from inside a sandbox leaves it first, unless it is the
	 * sandbox user's own; exempt or not. */
	if ((ret = leave_sandbox(&pw, log)) != NSCG_OPEN_SANDBOXED)
		goto out;
	ret = NSCG_OPEN_FAILED;
	if (res.exempt) {
		nscg_log(log, LOG_INFO, "%s is not sandboxed: %s", pw.pw_name, res.exempt_why);
		ret = NSCG_OPEN_SKIPPED;
		goto out;
	}
	if (broken)
		goto out;
	if (uid_level_policy(p, &pw, req->service, &res, &canon, &have_canon, log) < 0)
		goto out;
	if ((ret = pick_mode(p, pw.pw_uid, pw.pw_name, &ls, &kind, log)) != NSCG_OPEN_SANDBOXED)
		goto out;
	ret = NSCG_OPEN_FAILED;

	s = calloc(1, sizeof(*s));
	if (!s) {
		nscg_log_errno(log, LOG_ERR, -ENOMEM, "cannot open a session for %s", pw.pw_name);
		goto out;
	}
	nscg_cgroup_init(&s->orig);
	nscg_cgroup_init(&s->user);
	nscg_cgroup_init(&s->sess);
	for (size_t i = 0; i < 4; i++)
		s->saved.fd[i] = -1;
	s->saved.cwd = -1;
	s->uid = pw.pw_uid;
	s->opener = getpid();
	s->systemd = kind != KIND_STANDALONE;
	s->job = kind == KIND_JOB;
	s->bus_timeout_ms = req->bus_timeout_ms ? req->bus_timeout_ms : NSCG_BUS_TIMEOUT_MS;
	unsigned helper_timeout = req->helper_timeout_ms ? req->helper_timeout_ms : 10000;
	snprintf(s->parent, sizeof(s->parent), "%s", res.v[NSCG_KEY_CGROUP_PARENT].str);
	s->ns_mask = (unsigned)res.v[NSCG_KEY_NAMESPACES].num;
	s->kill_on_close = res.v[NSCG_KEY_KILL_ON_CLOSE].num != 0;
	if (nscg_host_detect(NULL, &s->host, log) < 0)
		goto drop;
	if ((r = open_cgroups_of("/proc/self/cgroup", &s->host, NULL, &s->orig)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open the caller's cgroups");
		goto drop;
	}
	/* Close must be able to move the caller back out everywhere, or its
	 * kill would reach the caller itself. */
	for (size_t i = 0; i < s->host.n; i++) {
		if (nscg_hier_used(&s->host.h[i]) && s->orig.fd[i] < 0) {
			nscg_log(log, LOG_ERR,
				 "cannot find the caller's cgroup in %s in /proc/self/cgroup",
				 s->host.h[i].mount);
			goto drop;
		}
	}
	/* Now and then, sessions of any user that nobody will close. */
	if (kind == KIND_STANDALONE)
		nscg_sweep_rate_limited(&s->host, s->parent, log);
	/* The helper is checked and started before anything is created,
	 * from the caller's own cgroups: a user who filled their limits
	 * cannot make its fork fail (ns.h). In systemd mode the caller is
	 * in the user's scope already. */
	if (s->ns_mask) {
		if ((helper_fd = nscg_helper_open(res.v[NSCG_KEY_HELPER].str, log)) < 0)
			goto drop;
		struct nscg_private_mounts pm;
		private_mounts(&res, s->ns_mask, &pm);
		r = nscg_helper_spawn(helper_fd, s->ns_mask, &pm, helper_timeout, &helper, log);
		if (r < 0) {
			if (kind == KIND_LOGIND && user_may_cause(r))
				ret = refuse_user_caused(pw.pw_name, r, log);
			goto drop;
		}
	}

	ret = kind == KIND_LOGIND ? open_systemd(s, &ls, &res, pw.pw_name, log) :
	      kind == KIND_JOB ? open_job(s, &res, pw.pw_name, req->service, helper.pid, log) :
				 open_standalone(s, &res, pw.pw_name, log);
	if (ret != NSCG_OPEN_SANDBOXED)
		goto drop; /* nothing left behind */
	ret = NSCG_OPEN_FAILED;
	/* private_tmp = user: the user's tmpfs, made by the first session
	 * under the uid's lock; this session, being in place, keeps it. */
	if ((s->ns_mask & NSCG_NS_MOUNT) &&
	    res.v[NSCG_KEY_PRIVATE_TMP].num == NSCG_TMP_USER) {
		int lock_fd = nscg_lock_uid(s->uid, LOCK_TIMEOUT_MS, log);
		if (lock_fd < 0)
			goto fail;
		tmp_fd = nscg_user_tmp_open(s->uid, tmpfs_size(&res, NSCG_KEY_TMP_SIZE), log);
		nscg_close(lock_fd);
		if (tmp_fd < 0)
			goto fail;
		s->user_tmp = true;
	}
	/* Namespaces last: the cgroup namespace's root is where the caller
	 * is now, the session cgroup or scope. */
	if (s->ns_mask) {
		char host[65];
		if ((r = nscg_ns_save(&s->saved)) < 0) {
			nscg_log_errno(log, LOG_ERR, r, "cannot save the caller's namespaces");
			goto fail;
		}
		/* A move is never refused, even into a full cgroup. */
		if (!s->systemd && (r = nscg_cgroup_attach(&s->host, &s->sess, helper.pid)) < 0) {
			nscg_log_errno(log, LOG_ERR, r, "cannot move the helper into %s", s->name);
			goto fail;
		}
		expand_hostname(res.v[NSCG_KEY_HOSTNAME].str, pw.pw_name,
				s->systemd ? s->logind_id : s->name + strlen("session-"),
				host, sizeof(host));
		r = nscg_ns_enter_session(&helper, s->ns_mask, host, &s->saved,
					  helper_timeout, log);
		if (r < 0) {
			/* From here on the helper's work is charged to the
			 * user's cgroups. */
			if (user_may_cause(r))
				ret = refuse_user_caused(pw.pw_name, r, log);
			goto fail;
		}
		if (tmp_fd >= 0) {
			if (nscg_user_tmp_attach(TAKE_FD(tmp_fd), log) < 0) {
				(void)nscg_ns_restore(&s->saved, s->ns_mask);
				goto fail;
			}
			/* The working directory may have been under /tmp. */
			if (chdir(s->saved.cwd_path) < 0 && chdir("/") < 0)
				nscg_log_errno(log, LOG_WARNING, -errno,
					       "cannot set the working directory");
		}
	}
	nscg_log(log, LOG_INFO, "%s (uid %u) sandboxed in %s", pw.pw_name,
		 (unsigned)s->uid, s->where);
	*out = s;
	s = NULL;
	ret = NSCG_OPEN_SANDBOXED;
	goto out;
fail:
	if (!s->systemd)
		undo(s);
drop:
	nscg_session_free(s);
	s = NULL;
out:
	nscg_helper_abort(&helper);
	nscg_close(helper_fd);
	nscg_close(tmp_fd);
	nscg_session_free(s);
	nscg_strv_free(groups, ngroups);
	nscg_policy_free(p);
	return ret;
}

static void fmt_usage(uint64_t v, bool bytes, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "n/a");
	else if (bytes)
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else
		snprintf(buf, len, "%llu.%03llus", (unsigned long long)(v / 1000000),
			 (unsigned long long)(v % 1000000 / 1000));
}

/* The accounting line, read off the session's cgroup (or scope). */
static void log_usage(const struct nscg_session *s, const struct nscg_log *log)
{
	struct nscg_usage u;
	char cpu[32], mem[32], oom[32];

	nscg_cgroup_usage(&s->host, &s->sess, &u);
	fmt_usage(u.cpu_usec, false, cpu, sizeof(cpu));
	fmt_usage(u.mem_peak, true, mem, sizeof(mem));
	if (u.oom_kills == UINT64_MAX)
		snprintf(oom, sizeof(oom), "n/a");
	else
		snprintf(oom, sizeof(oom), "%llu", (unsigned long long)u.oom_kills);
	nscg_log(log, LOG_INFO, "uid %u %s closed: cpu %s, peak memory %s, oom kills %s",
		 (unsigned)s->uid, s->name, cpu, mem, oom);
}

/* systemd mode: nothing of systemd's is removed or written. With
 * kill_on_close the scope's processes get SIGKILL from us, all but the
 * caller; then logind terminates the session, which reaches the caller
 * as well, as logind's own KillUserProcesses=yes does: it comes last. A
 * job scope is stopped after the caller went back to its own unit. */
static int close_systemd(struct nscg_session *s, const struct nscg_log *log)
{
	log_usage(s, log);
	/* The user's tmpfs goes with their last logind session (a job is
	 * none: then there must be none left). */
	if (s->user_tmp) {
		int lock_fd = nscg_lock_uid(s->uid, LOCK_TIMEOUT_MS, log);
		if (lock_fd >= 0) {
			nscg_release_user_tmp(s->uid, s->job ? 0 : 1);
			nscg_close(lock_fd);
		}
	}
	if (!s->kill_on_close)
		return 0;
	/* First every process of the scope but this one, at once and with
	 * SIGKILL: systemd's stop sends SIGTERM and waits TimeoutStopSec
	 * (90 s) before it kills what ignores it. */
	int r = nscg_cgroup_kill_others(&s->host, &s->sess, KILL_TIMEOUT_MS);
	if (r < 0)
		nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill", s->name);
	int t = s->job ? nscg_sd_end_scope(s->name, s->orig_unit, getpid(), s->bus_timeout_ms, log) :
			 nscg_logind_terminate(s->logind_id, s->bus_timeout_ms, log);
	return r < 0 ? r : t;
}

/* A close that could not finish says so in the session's record. */
static void mark_closing(const struct nscg_session *s, const struct nscg_log *log)
{
	struct nscg_record rec;

	if (nscg_record_read(s->uid, s->name, &rec) < 0)
		return;
	rec.closing = true;
	if (nscg_record_write(&rec, log) == 0)
		nscg_log(log, LOG_NOTICE, "%s of uid %u is left for the sweep to finish", s->name,
			 (unsigned)s->uid);
}

int nscg_session_close(struct nscg_session *s, const struct nscg_log *log)
{
	bool out = true;
	int r, ret = 0;

	/* A forked child tearing down its copy of the handle must not act. */
	if (getpid() != s->opener)
		return 0;
	if (s->ns_mask && (r = nscg_ns_restore(&s->saved, s->ns_mask)) < 0)
		ret = nscg_log_errno(log, LOG_ERR, r, "cannot return to the original namespaces");
	if (s->systemd) {
		r = close_systemd(s, log);
		return ret < 0 ? ret : r;
	}
	if ((r = nscg_cgroup_attach(&s->host, &s->orig, 0)) < 0) {
		ret = nscg_log_errno(log, LOG_ERR, r, "cannot move back out of %s", s->name);
		out = false;
	}
	/* Never kill a cgroup the caller may still be in. */
	if (s->kill_on_close && out &&
	    (r = nscg_cgroup_kill(&s->host, &s->sess, KILL_TIMEOUT_MS)) < 0)
		ret = nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill", s->name);
	log_usage(s, log);
	if (nscg_cgroup_count_procs(&s->host, &s->sess) == 0) {
		if ((r = nscg_cgroup_rmdir(&s->host, &s->user, s->name, RMDIR_TIMEOUT_MS)) < 0)
			ret = nscg_log_errno(log, LOG_ERR, r, "cannot remove %s", s->name);
		else
			(void)nscg_record_remove(s->uid, s->name);
	}
	/* What could not be finished is marked so for the sweep, which
	 * finishes it without waiting for this user's next login. The user
	 * cgroup goes with its last session (a login making a session in
	 * it meanwhile makes it again). */
	if (ret < 0)
		mark_closing(s, log);
	nscg_remove_user_cgroup(&s->host, s->parent, s->uid);
	return ret;
}
