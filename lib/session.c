/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A login's session: what it gets is decided first (policy, user,
 * exemptions, on_error, the manager), then built (helper, cgroups,
 * namespaces) and at logout ended. The cgroups are the manager's
 * (session-internal.h); everything else is here. */
#include "session-internal.h"

#include "record.h"
#include "sdbus.h"
#include "usertmp.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIAGS_LOGGED 10

/* setns into a mount namespace fails with EINVAL when the fs_struct is
 * shared, i.e. in a multithreaded caller; refuse those up front. */
static int thread_count(void)
{
	_cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	int r;

	if (fd < 0)
		return -errno;
	if ((r = nscg_read_fd(fd, 1 << 16, &buf, NULL)) < 0)
		return r;
	const char *t = strstr(buf, "\nThreads:");
	return t ? atoi(t + 9) : -EBADMSG;
}

/* The uid whose sandbox holds this process, from the first component
 * "user-UID" (standalone) or "user-UID.slice" (systemd) of its cgroup
 * paths as the initial cgroup namespace shows them; -ENOENT if none. */
static int sandbox_owner(uid_t *owner)
{
	_cleanup_free_ char *buf = NULL;

	if (nscg_proc_cgroup_read(0, &buf) < 0)
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
	r = nscg_cgroup_open_of(&host, 1, NULL, &init);
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
	_cleanup_close_ int own = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	enum nscg_open_result ret = NSCG_OPEN_FAILED;
	struct nscg_ns_saved host;
	struct stat a, b;
	uid_t owner;
	int r;

	if (own < 0 || fstat(own, &a) < 0) {
		nscg_log_errno(log, LOG_ERR, -errno, "cannot read the cgroup namespace");
		return NSCG_OPEN_FAILED;
	}
	/* The initial cgroup namespace is the host's: nothing to leave. */
	if (a.st_ino == NSCG_CGROUP_INIT_INO)
		return NSCG_OPEN_SANDBOXED;
	if (nscg_ns_open_host(&host) < 0) {
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
		const struct nscg_diag *dg = nscg_policy_diag(p, i);
		if (!dg->error)
			continue;
		nscg_log(log, LOG_ERR, "%s:%u: %s", dg->file ? dg->file : "?", dg->line, dg->msg);
		shown++;
	}
}

static const char *origin_file(const struct nscg_value *v)
{
	return v->origin.file ? v->origin.file : "built-in";
}

void nscg_log_refusal(const char *user, int live, const struct nscg_value *max,
		      const struct nscg_log *log)
{
	nscg_log(log, LOG_NOTICE,
		 "refusing a login of %s: %d sessions are open and max_sessions is %llu (%s:%u)",
		 user, live, (unsigned long long)max->num, origin_file(max), max->origin.line);
}

/* Which mode this login gets, from the policy's mode and whether the
 * caller is in a logind session scope. SKIPPED: the caller is in another
 * user's logind session (su, runuser): that session's limits hold. */
static enum nscg_open_result pick_manager(const struct nscg_policy *p, uid_t uid,
					  const char *user, struct nscg_logind_session *ls,
					  const struct nscg_manager **mgr,
					  const struct nscg_log *log)
{
	enum nscg_mode mode = (enum nscg_mode)nscg_policy_global(p, NSCG_KEY_MODE)->num;
	int in = mode == NSCG_MODE_STANDALONE ? 0 : nscg_logind_current(ls);

	*mgr = &nscg_manager_standalone;
	if (in < 0) {
		nscg_log_errno(log, LOG_ERR, in,
			       "cannot tell whether the login is a logind session (/proc/self/cgroup, /run/systemd/sessions)");
		return NSCG_OPEN_FAILED;
	}
	if (!in) {
		/* No logind session (cron, at, su from a service): on a
		 * systemd machine, a transient scope of the login's own;
		 * never a cgroup of pam_nscg's in systemd's tree. */
		if (mode != NSCG_MODE_STANDALONE && nscg_have_systemd() && nscg_systemd_booted()) {
			*mgr = &nscg_manager_job;
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
	if (ls->uid != uid || ls->leader != getpid()) {
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
	*mgr = &nscg_manager_logind;
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
	/* A policy without user or group sections says the same to every
	 * name. */
	if (!nscg_policy_has_users(p) && !nscg_policy_has_groups(p))
		return 0;
	r = nscg_getpwuid(pw->pw_uid, &first, &buf);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up uid %u", (unsigned)pw->pw_uid);
	if (!strcmp(first.pw_name, pw->pw_name))
		return 0;
	r = nscg_policy_has_groups(p) ? nscg_user_groups(first.pw_name, first.pw_gid, &groups, &ngroups) : 0;
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", first.pw_name);
	struct nscg_request rq = { .user = first.pw_name, .groups = (const char *const *)groups,
				   .ngroups = ngroups, .service = service };
	r = nscg_policy_resolve(p, &rq, canon);
	nscg_strv_free(groups);
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

/* The fresh mounts of the session: a private /dev/shm and, with
 * private_tmp = session, /tmp, where there is a mount namespace; and
 * with hide_processes, /proc, which must have one: a session that
 * cannot hide what the admin asked to hide is an error, never a
 * session that shows it. */
static int private_mounts(const struct nscg_resolved *res, unsigned ns_mask,
			  struct nscg_private_mounts *pm, const struct nscg_log *log)
{
	const char *group = res->v[NSCG_KEY_HIDE_PROCESSES_GROUP].str;
	bool mnt = ns_mask & NSCG_NS_MOUNT;
	int r;

	*pm = (struct nscg_private_mounts){
		.shm = mnt && res->v[NSCG_KEY_PRIVATE_SHM].num,
		.tmp = mnt && res->v[NSCG_KEY_PRIVATE_TMP].num == NSCG_TMP_SESSION,
		.shm_size = tmpfs_size(res, NSCG_KEY_SHM_SIZE),
		.tmp_size = tmpfs_size(res, NSCG_KEY_TMP_SIZE),
		.hide_pids = res->v[NSCG_KEY_HIDE_PROCESSES].num != 0,
	};
	if (!pm->hide_pids)
		return 0;
	if (!mnt) {
		nscg_log(log, LOG_ERR,
			 "hide_processes = yes needs the mount namespace, which namespaces leaves out");
		return -EINVAL;
	}
	if (!group || !*group)
		return 0;
	if ((r = nscg_group_gid(group, &pm->proc_gid)) < 0) {
		char esc[80];
		nscg_log_errno(log, LOG_ERR, r, "cannot look up hide_processes_group '%s'",
			       nscg_escape(group, esc, sizeof(esc)));
		return r;
	}
	pm->proc_gid_set = true;
	return 0;
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
static enum nscg_open_result refuse_user_caused(const char *user, int r, bool exposed,
						const struct nscg_log *log)
{
	nscg_log_errno(log, LOG_NOTICE, r,
		       exposed ? "refusing a login of %s: it is opened from a cgroup a user controls, where its helper failed; on_error does not apply" :
				 "refusing a login of %s: it cannot be sandboxed within the user's own limits, which the user's processes may fill; on_error does not apply",
		       user);
	return NSCG_OPEN_REFUSED;
}

/* What a login gets, decided before anything is built. Not to be
 * copied: res and canon point into each other. */
struct decision {
	struct nscg_policy *policy;
	struct passwd pw;
	char *pwbuf;
	char **groups;
	size_t ngroups;
	struct nscg_resolved res, canon; /* canon: the uid's first name's */
	bool have_canon;
	const struct nscg_manager *mgr;
	struct nscg_logind_session ls;
};

static void decision_done(struct decision *d)
{
	nscg_strv_free(d->groups);
	free(d->pwbuf);
	nscg_policy_free(d->policy);
}

/* Decide: the policy, the user, whether the login is sandboxed at all
 * (exemptions, nested logins, max_sessions comes later) and by which
 * manager. *on_error is the policy's from the moment it is read.
 * SANDBOXED means "build it". Nothing is created here; a login from
 * inside another user's sandbox leaves it for the host's. */
static enum nscg_open_result decide(const struct nscg_open_req *req, struct decision *d,
				    enum nscg_on_error *on_error, const struct nscg_log *log)
{
	struct nscg_load_opts opts = { .trusted_uid = 0 };
	enum nscg_open_result ret;
	char esc[96];
	int r;

	if (!req->user || !nscg_name_is_valid(req->user)) {
		nscg_log(log, LOG_ERR, "refusing the user name \"%s\"",
			 nscg_escape(req->user, esc, sizeof(esc)));
		return NSCG_OPEN_FAILED;
	}
	/* First: setns into a mount namespace needs a single-threaded caller. */
	if ((r = thread_count()) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot count the caller's threads");
		return NSCG_OPEN_FAILED;
	}
	if (r != 1) {
		nscg_log(log, LOG_ERR,
			 "the calling process has %d threads; namespaces can only be joined by a single-threaded caller", r);
		return NSCG_OPEN_FAILED;
	}
	if ((r = nscg_policy_load(req->conf, &opts, &d->policy)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot load the policy");
		return NSCG_OPEN_FAILED;
	}
	*on_error = (enum nscg_on_error)nscg_policy_global(d->policy, NSCG_KEY_ON_ERROR)->num;
	/* A policy with errors is never applied, but what it exempts stays
	 * exempt (its broken lines are skipped): a typo must not lock root
	 * out along with everybody else. */
	unsigned errors = nscg_policy_errors(d->policy);
	if (errors) {
		log_policy_errors(d->policy, log);
		nscg_log(log, LOG_ERR, "the policy has %u errors; run nscgctl check", errors);
	}
	if (geteuid() != 0) {
		nscg_log(log, LOG_ERR, "not running as root; cannot sandbox the session");
		return NSCG_OPEN_FAILED;
	}
	r = nscg_getpwnam(req->user, &d->pw, &d->pwbuf);
	if (r < 0) {
		/* A failed lookup (ENOMEM, an NSS outage) is not "no such user". */
		if (r == -ENOENT)
			nscg_log(log, LOG_ERR, "unknown user \"%s\"",
				 nscg_escape(req->user, esc, sizeof(esc)));
		else
			nscg_log_errno(log, LOG_ERR, r, "cannot look up the user \"%s\"",
				       nscg_escape(req->user, esc, sizeof(esc)));
		return NSCG_OPEN_FAILED;
	}
	const char *user = d->pw.pw_name;
	/* The groups only where a section names one: with LDAP or SSSD
	 * each lookup may cost a round trip. */
	if (nscg_policy_has_groups(d->policy) &&
	    (r = nscg_user_groups(user, d->pw.pw_gid, &d->groups, &d->ngroups)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", user);
		return NSCG_OPEN_FAILED;
	}
	struct nscg_request rq = { .user = user, .groups = (const char *const *)d->groups,
				   .ngroups = d->ngroups, .service = req->service };
	if ((r = nscg_policy_resolve(d->policy, &rq, &d->res)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot resolve the policy for %s", user);
		return NSCG_OPEN_FAILED;
	}
	/* A login from inside a sandbox leaves it first, unless it is the
	 * sandbox user's own; exempt or not. */
	if ((ret = leave_sandbox(&d->pw, log)) != NSCG_OPEN_SANDBOXED)
		return ret;
	if (d->res.exempt) {
		nscg_log(log, LOG_INFO, "%s is not sandboxed: %s", user, d->res.exempt_why);
		return NSCG_OPEN_SKIPPED;
	}
	if (errors ||
	    uid_level_policy(d->policy, &d->pw, req->service, &d->res, &d->canon, &d->have_canon,
			     log) < 0)
		return NSCG_OPEN_FAILED;
	return pick_manager(d->policy, d->pw.pw_uid, user, &d->ls, &d->mgr, log);
}

/* delegate = yes (delegate.h): on a host that can, with the cgroup
 * namespace whose root the delegated subtree is, and the mount namespace
 * for the session's view of it. Refused otherwise: on_error. */
static int delegation_possible(struct nscg_session *s, const struct nscg_log *log)
{
	if (nscg_delegate_check(&s->host, log) < 0)
		return -EOPNOTSUPP;
	if ((s->ns_mask & (NSCG_NS_CGROUP | NSCG_NS_MOUNT)) != (NSCG_NS_CGROUP | NSCG_NS_MOUNT)) {
		nscg_log(log, LOG_ERR,
			 "delegate = yes needs the cgroup and mount namespaces, which namespaces leaves out");
		return -EINVAL;
	}
	s->delegate = true;
	return 0;
}

static struct nscg_session *session_new(void)
{
	struct nscg_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	nscg_cgroup_init(&s->orig);
	nscg_cgroup_init(&s->user);
	nscg_cgroup_init(&s->sess);
	nscg_delegation_init(&s->deleg);
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		s->saved.fd[i] = -1;
	s->saved.cwd = -1;
	return s;
}

/* The session's CPU budget (nscg_session_cpus), with the caller in the
 * session's cgroups: its affinity is the cpuset's by now. */
static unsigned cpu_budget(const struct nscg_resolved *res)
{
	static const enum nscg_level levels[] = { NSCG_LEVEL_SESSION, NSCG_LEVEL_USER };
	uint64_t quota = UINT64_MAX;
	cpu_set_t set;

	for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
		const struct nscg_value *v = &res->v[nscg_limit_key(levels[i], NSCG_CPU_MAX)];
		if (v->set && v->num != NSCG_UNLIMITED) {
			uint64_t cpus = (v->num + 99) / 100;
			quota = cpus < quota ? cpus : quota;
		}
	}
	if (quota == UINT64_MAX || sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	uint64_t affinity = (uint64_t)CPU_COUNT(&set);
	return quota < affinity ? (unsigned)(quota ? quota : 1) : 0;
}

unsigned nscg_session_cpus(const struct nscg_session *s)
{
	return s->cpus;
}

/* Build what d decided: the caller's cgroups noted, the helper started
 * (from the caller's own cgroups, where it stays: a user who filled their
 * limits cannot make it fail, ns.h), the manager's cgroups with the
 * caller in them while the helper makes its namespaces, the user's /tmp,
 * and last the namespaces, whose cgroup root is then the session's
 * cgroup or scope. On anything but SANDBOXED nothing is left behind. */
static enum nscg_open_result build(const struct nscg_open_req *req, const struct decision *d,
				   struct nscg_session **out, const struct nscg_log *log)
{
	const struct nscg_resolved *res = &d->res;
	const char *user = d->pw.pw_name;
	struct nscg_helper helper = { .pid = -1, .sock = -1 };
	_cleanup_close_ int helper_fd = -1, tmp_fd = -1;
	enum nscg_open_result ret = NSCG_OPEN_FAILED;
	bool opened = false;
	int r;

	struct nscg_session *s = session_new();
	if (!s) {
		nscg_log_errno(log, LOG_ERR, -ENOMEM, "cannot open a session for %s", user);
		return NSCG_OPEN_FAILED;
	}
	s->mgr = d->mgr;
	s->uid = d->pw.pw_uid;
	s->gid = d->pw.pw_gid;
	s->opener = getpid();
	s->bus_timeout_ms = req->bus_timeout_ms ? req->bus_timeout_ms : NSCG_BUS_TIMEOUT_MS;
	unsigned helper_timeout = req->helper_timeout_ms ? req->helper_timeout_ms : 10000;
	snprintf(s->parent, sizeof(s->parent), "%s", res->v[NSCG_KEY_CGROUP_PARENT].str);
	s->ns_mask = (unsigned)res->v[NSCG_KEY_NAMESPACES].num;
	s->kill_on_close = res->v[NSCG_KEY_KILL_ON_CLOSE].num != 0;
	if (nscg_host_detect(NULL, &s->host, log) < 0)
		goto out;
	if (res->v[NSCG_KEY_DELEGATE].num && delegation_possible(s, log) < 0)
		goto out;
	s->deleg_descendants = (unsigned)res->v[NSCG_KEY_DELEGATE_MAX_DESCENDANTS].num;
	s->deleg_depth = (unsigned)res->v[NSCG_KEY_DELEGATE_MAX_DEPTH].num;
	if ((r = nscg_cgroup_open_of(&s->host, 0, NULL, &s->orig)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open the caller's cgroups");
		goto out;
	}
	/* Close must be able to move the caller back out everywhere, or its
	 * kill would reach the caller itself. */
	for (size_t i = 0; i < s->host.n; i++) {
		if (nscg_hier_used(&s->host.h[i]) && s->orig.fd[i] < 0) {
			nscg_log(log, LOG_ERR,
				 "cannot find the caller's cgroup in %s in /proc/self/cgroup",
				 s->host.h[i].mount);
			goto out;
		}
	}
	/* The helper lives in the caller's cgroups. Where a user may move
	 * processes there (su or sudo from a user's delegated subtree, such
	 * as their systemd manager's), the user can freeze, kill or starve
	 * it: then whatever stops the helper may be the user's doing, and
	 * on_error must not let the login out. In a logind session the
	 * caller is in the user's scope already: its fork is the user's to
	 * refuse. */
	bool exposed = nscg_cgroup_delegated(&s->host, &s->orig);
	struct nscg_private_mounts pm;
	if (private_mounts(res, s->ns_mask, &pm, log) < 0)
		goto out;
	if (s->ns_mask) {
		if ((helper_fd = nscg_helper_open(res->v[NSCG_KEY_HELPER].str, log)) < 0)
			goto out;
		const struct nscg_helper_watch w = {
			.on = true, .uid = s->uid, .user = user, .tty = req->tty,
			.notice = res->v[NSCG_KEY_OOM_NOTICE].num != 0, .delegate = s->delegate,
		};
		r = nscg_helper_spawn(helper_fd, s->ns_mask, &pm, &w, &helper, log);
		if (r < 0) {
			if (exposed || (s->mgr == &nscg_manager_logind && user_may_cause(r)))
				ret = refuse_user_caused(user, r, exposed, log);
			goto out;
		}
	}
	const struct nscg_login login = {
		.res = res, .user = user, .service = req->service, .tty = req->tty,
		.rhost = req->rhost, .ls = &d->ls,
	};
	if ((ret = s->mgr->open(s, &login, log)) != NSCG_OPEN_SANDBOXED)
		goto out; /* nothing left behind */
	opened = true;
	ret = NSCG_OPEN_FAILED;
	/* private_tmp = user: the user's tmpfs, made by the first session
	 * under the uid's lock; this session, being in place, keeps it. */
	if ((s->ns_mask & NSCG_NS_MOUNT) && res->v[NSCG_KEY_PRIVATE_TMP].num == NSCG_TMP_USER) {
		int lock_fd = nscg_lock_uid(s->uid, NSCG_LOCK_TIMEOUT_MS, log);
		if (lock_fd < 0)
			goto out;
		tmp_fd = nscg_user_tmp_open(s->uid, tmpfs_size(res, NSCG_KEY_TMP_SIZE), log);
		nscg_close(lock_fd);
		if (tmp_fd < 0)
			goto out;
		s->user_tmp = true;
	}
	if (s->ns_mask) {
		char host[65];
		if ((r = nscg_ns_save(&s->saved)) < 0) {
			nscg_log_errno(log, LOG_ERR, r, "cannot save the caller's namespaces");
			goto out;
		}
		expand_hostname(res->v[NSCG_KEY_HOSTNAME].str, user, s->id, host, sizeof(host));
		r = nscg_ns_enter_session(&helper, s->ns_mask, host, &s->saved,
					  s->delegate ? s->deleg.caller : -1, helper_timeout, log);
		if (r < 0) {
			/* The caller's cgroup namespace is charged to the
			 * user's cgroups, and in a logind session the helper's
			 * work too: which limit refused it cannot be told. */
			if (exposed || user_may_cause(r))
				ret = refuse_user_caused(user, r, exposed, log);
			goto out;
		}
		/* The caller has left the delegated subtree (delegate.h): now,
		 * and only now, it may be the user's. */
		if (s->delegate) {
			struct nscg_limits lim;
			nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &lim);
			if (nscg_delegate_hand_over(&s->host, &s->deleg, &s->sess, &lim,
						    nscg_ns_saved_fd(&s->saved, NSCG_NS_CGROUP),
						    s->uid, s->gid, log) < 0) {
				(void)nscg_ns_restore(&s->saved, s->ns_mask);
				goto out;
			}
		}
		if (tmp_fd >= 0) {
			if (nscg_user_tmp_attach(TAKE_FD(tmp_fd), log) < 0) {
				(void)nscg_ns_restore(&s->saved, s->ns_mask);
				goto out;
			}
			/* The working directory may have been under /tmp. */
			if (chdir(s->saved.cwd_path) < 0 && chdir("/") < 0)
				nscg_log_errno(log, LOG_WARNING, -errno,
					       "cannot set the working directory");
		}
	}
	if (res->v[NSCG_KEY_EXPORT_CPUS].num)
		s->cpus = cpu_budget(res);
	nscg_log(log, LOG_INFO, "%s (uid %u) sandboxed in %s", user, (unsigned)s->uid, s->where);
	*out = TAKE_PTR(s);
	ret = NSCG_OPEN_SANDBOXED;
out:
	nscg_helper_abort(&helper);
	if (s && opened && s->mgr->undo)
		s->mgr->undo(s);
	nscg_session_free(s);
	return ret;
}

enum nscg_open_result nscg_session_open(const struct nscg_open_req *req,
					const struct nscg_log *log,
					struct nscg_session **out,
					enum nscg_on_error *on_error)
{
	struct decision d = { 0 };
	enum nscg_open_result ret;

	*out = NULL;
	*on_error = NSCG_ON_ERROR_DENY;
	ret = decide(req, &d, on_error, log);
	if (ret == NSCG_OPEN_SANDBOXED)
		ret = build(req, &d, out, log);
	decision_done(&d);
	return ret;
}

void nscg_session_record(const struct nscg_session *s, const struct nscg_login *l,
			 struct nscg_record *rec)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	*rec = (struct nscg_record){
		.uid = s->uid, .leader = s->opener, .leader_start = nscg_pid_start_time(s->opener),
		.kill = s->kill_on_close, .start = (uint64_t)now.tv_sec,
		/* A logind session's delegated processes are in a scope of
		 * ours, as a job's (manager-systemd.c). */
		.mode = s->delegate && s->mgr->mode == NSCG_REC_LOGIND ? NSCG_REC_JOB : s->mgr->mode,
		.ns = s->ns_mask,
	};
	snprintf(rec->user, sizeof(rec->user), "%s", l->user);
	snprintf(rec->session, sizeof(rec->session), "%s", s->name);
	if (rec->mode == NSCG_REC_STANDALONE) {
		snprintf(rec->parent, sizeof(rec->parent), "%s", s->parent);
		snprintf(rec->cgroup, sizeof(rec->cgroup), "%s/user-%u/%s", rec->parent,
			 (unsigned)s->uid, s->name);
	} else {
		snprintf(rec->parent, sizeof(rec->parent), "user.slice/user-%u.slice",
			 (unsigned)s->uid);
		snprintf(rec->cgroup, sizeof(rec->cgroup), "%s/%s", rec->parent, s->name);
	}
	nscg_record_text(rec->service, sizeof(rec->service), l->service);
	nscg_record_text(rec->tty, sizeof(rec->tty), l->tty);
	nscg_record_text(rec->rhost, sizeof(rec->rhost), l->rhost);
}

static void fmt_usage(uint64_t v, bool bytes, char *buf, size_t len)
{
	if (v == NSCG_USAGE_UNKNOWN)
		snprintf(buf, len, "n/a");
	else if (bytes)
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else
		snprintf(buf, len, "%llu.%03llus", (unsigned long long)(v / 1000000),
			 (unsigned long long)(v % 1000000 / 1000));
}

/* The accounting line, read off the session's cgroup (or scope). */
void nscg_session_log_usage(const struct nscg_session *s, const struct nscg_log *log)
{
	struct nscg_usage u;
	char cpu[32], mem[32], oom[32];

	nscg_cgroup_usage(&s->host, &s->sess, &u);
	fmt_usage(u.cpu_usec, false, cpu, sizeof(cpu));
	fmt_usage(u.mem_peak, true, mem, sizeof(mem));
	if (u.oom_kills == NSCG_USAGE_UNKNOWN)
		snprintf(oom, sizeof(oom), "n/a");
	else
		snprintf(oom, sizeof(oom), "%llu", (unsigned long long)u.oom_kills);
	nscg_log(log, LOG_INFO, "uid %u %s closed: cpu %s, peak memory %s, oom kills %s",
		 (unsigned)s->uid, s->name, cpu, mem, oom);
}

int nscg_session_close(struct nscg_session *s, const struct nscg_log *log)
{
	int r, ret = 0;

	/* A forked child tearing down its copy of the handle must not act. */
	if (getpid() != s->opener)
		return 0;
	if (s->ns_mask && (r = nscg_ns_restore(&s->saved, s->ns_mask)) < 0)
		ret = nscg_log_errno(log, LOG_ERR, r, "cannot return to the original namespaces");
	r = s->mgr->close(s, log);
	return ret < 0 ? ret : r;
}

int nscg_session_undo(struct nscg_session *s, const struct nscg_log *log)
{
	s->kill_on_close = false;
	return nscg_session_close(s, log);
}

void nscg_session_free(struct nscg_session *s)
{
	if (!s)
		return;
	nscg_cgroup_close(&s->orig);
	nscg_cgroup_close(&s->user);
	nscg_cgroup_close(&s->sess);
	nscg_delegation_close(&s->deleg);
	nscg_ns_close(&s->saved);
	nscg_host_close(&s->host);
	free(s);
}
