/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscgctl apply and terminate: changing live sessions. Both run as root
 * in the host's view (nscgctl.c checks) and log to syslog what they did
 * and who asked. */
#include "steer.h"

#include "cgroup.h"
#include "delegate.h"
#include "record.h"
#include "sdbus.h"
#include "status.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define KILL_TIMEOUT_MS 10000
#define RMDIR_TIMEOUT_MS 500
#define LOCK_TIMEOUT_MS 5000
#define BUS_TIMEOUT_MS 5000

/* Who asked: the uid and, where the kernel knows it, the login uid (the
 * user who logged in and became root). */
static void who(char *buf, size_t len)
{
	char line[32] = "";
	FILE *f = fopen("/proc/self/loginuid", "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	if (line[0] && strcmp(line, "4294967295"))
		snprintf(buf, len, "uid %u (login uid %s)", (unsigned)getuid(), line);
	else
		snprintf(buf, len, "uid %u", (unsigned)getuid());
}

/* One line to the authpriv log. */
static void audit(const char *msg)
{
	openlog("nscgctl", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_NOTICE, "%s", msg);
	closelog();
}

/* Whether this process is in the cgroup path (or below it). */
static bool self_in(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	const char *ctrls, *p;
	size_t n = strlen(path);

	if (nscg_proc_cgroup_read(0, &buf) < 0)
		return true; /* cannot tell: as if it were */
	for (char *cur = buf; nscg_proc_cgroup_next(&cur, &ctrls, &p);)
		if (p[0] == '/' && !strncmp(p + 1, path, n) && (p[1 + n] == '\0' || p[1 + n] == '/'))
			return true;
	return false;
}

/* ---- terminate ---- */

/* A standalone session ends as close ends it: killed, its cgroups and
 * record removed, and the user cgroup with the user's last session. */
static int terminate_standalone(const struct nscg_host *host, const struct nscg_record *rec,
				const struct nscg_log *log)
{
	struct nscg_cgroup cg, user;
	char path[256];
	int r;

	nscg_cgroup_open_existing(host, rec->cgroup, &cg);
	r = nscg_cgroup_kill(host, &cg, KILL_TIMEOUT_MS);
	nscg_cgroup_close(&cg);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill",
				      rec->session);
	snprintf(path, sizeof(path), "%.*s", (int)(strrchr(rec->cgroup, '/') - rec->cgroup),
		 rec->cgroup);
	nscg_cgroup_open_existing(host, path, &user);
	r = nscg_cgroup_rmdir_session(host, &user, rec->session, RMDIR_TIMEOUT_MS);
	nscg_cgroup_close(&user);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot remove %s", rec->session);
	(void)nscg_record_remove(rec->uid, rec->session);
	int lock = nscg_lock_uid(rec->uid, LOCK_TIMEOUT_MS, log);
	if (lock >= 0) {
		nscg_remove_user_cgroup(host, rec->parent, rec->uid);
		nscg_close(lock);
	}
	return 0;
}

/* A logind session ends through logind; a job's scope ends, as systemd
 * ends a transient scope, when its last process is gone. */
static int terminate_systemd(const struct nscg_host *host, const struct nscg_record *rec,
			     const struct nscg_log *log)
{
	if (rec->mode == NSCG_REC_LOGIND) {
		char id[32];
		snprintf(id, sizeof(id), "%.*s", (int)(strlen(rec->session) - 14),
			 rec->session + 8); /* session-ID.scope */
		return nscg_logind_terminate(id, BUS_TIMEOUT_MS, log);
	}
	struct nscg_cgroup cg;
	nscg_cgroup_open_existing(host, rec->cgroup, &cg);
	int r = nscg_cgroup_kill_others(host, &cg, KILL_TIMEOUT_MS);
	/* delegate: the session's processes are below the scope, in
	 * cgroups of pam_nscg's own (delegate.h). */
	if (r >= 0)
		r = nscg_delegate_kill(host, &cg, KILL_TIMEOUT_MS);
	nscg_cgroup_close(&cg);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill",
				      rec->session);
	(void)nscg_record_remove(rec->uid, rec->session);
	return 0;
}

int nscg_terminate(const struct nscg_host *host, const struct nscg_status *st,
		   const struct nscg_log *log)
{
	char by[64];
	int ret = 0;

	who(by, sizeof(by));
	for (size_t i = 0; i < st->nsess; i++) {
		const struct nscg_record *rec = &st->sess[i].rec;
		if (self_in(rec->cgroup)) {
			nscg_log(log, LOG_ERR, "not terminating %s of %s: nscgctl runs in it",
				 rec->session, rec->user);
			ret = -EBUSY;
			continue;
		}
		int r = rec->mode == NSCG_REC_STANDALONE ? terminate_standalone(host, rec, log) :
							   terminate_systemd(host, rec, log);
		if (r < 0) {
			ret = r;
			continue;
		}
		char msg[512];
		printf("terminated %s of %s\n", rec->session, rec->user);
		snprintf(msg, sizeof(msg), "terminated %s of %s, as %s asked", rec->session,
			 rec->user, by);
		audit(msg);
	}
	return ret;
}

/* ---- apply ---- */

struct change_ctx {
	const char *user, *what;
	bool dry_run;
};

static void print_change(void *ctx, const char *file, const char *from, const char *to)
{
	const struct change_ctx *c = ctx;

	printf("%s %s: %s %s -> %s%s\n", c->user, c->what, file, from, to,
	       c->dry_run ? " (dry run)" : "");
}

/* What a login of user through service resolves to (session.c's rules:
 * the user-level limits are the uid's first name's). */
static int resolve(const struct nscg_policy *p, const char *user, uid_t uid, const char *service,
		   struct nscg_resolved *res, const struct nscg_log *log)
{
	_cleanup_free_ char *buf = NULL, *buf1 = NULL;
	struct passwd pw, first;
	char **groups = NULL;
	size_t ngroups = 0;
	struct nscg_resolved canon;
	int r;

	if ((r = nscg_getpwnam(user, &pw, &buf)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up %s", user);
	if ((r = nscg_user_groups(pw.pw_name, pw.pw_gid, &groups, &ngroups)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", user);
	struct nscg_request rq = { .user = pw.pw_name, .groups = (const char *const *)groups,
				   .ngroups = ngroups, .service = *service ? service : NULL };
	r = nscg_policy_resolve(p, &rq, res);
	nscg_strv_free(groups);
	groups = NULL;
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot resolve the policy for %s", user);
	if (nscg_getpwuid(uid, &first, &buf1) < 0 || !strcmp(first.pw_name, pw.pw_name))
		return 0;
	if ((r = nscg_user_groups(first.pw_name, first.pw_gid, &groups, &ngroups)) < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot look up the groups of %s", first.pw_name);
	rq = (struct nscg_request){ .user = first.pw_name, .groups = (const char *const *)groups,
				    .ngroups = ngroups, .service = rq.service };
	r = nscg_policy_resolve(p, &rq, &canon);
	nscg_strv_free(groups);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot resolve the policy for %s", first.pw_name);
	for (int k = 0; k < NSCG_LIMIT_COUNT; k++) {
		enum nscg_key key = nscg_limit_key(NSCG_LEVEL_USER, (enum nscg_limit)k);
		res->v[key] = canon.v[key];
	}
	res->united[NSCG_LEVEL_USER] = canon.united[NSCG_LEVEL_USER];
	return 0;
}

/* The limits of level as the policy has them, with what it leaves unset
 * back at the kernel's default, so that a limit taken out goes; io.weight
 * and cpuset.cpus unset are left as they are (v1 has no neutral value
 * for the one, and the other is the parent's). For systemd's slice,
 * tasks are left to systemd unless the policy sets them, as at login
 * (sdbus.h): its default TasksMax is logind's UserTasksMax. */
static void policy_limits(const struct nscg_resolved *res, enum nscg_level level, bool slice,
			  struct nscg_limits *lim)
{
	static const enum nscg_limit unlimited[] = {
		NSCG_MEMORY_MAX, NSCG_MEMORY_HIGH, NSCG_MEMORY_SWAP_MAX, NSCG_CPU_MAX, NSCG_PIDS_MAX,
	};

	nscg_resolved_limits(res, level, lim);
	for (size_t i = 0; i < ELEMENTSOF(unlimited); i++)
		if (!lim->set[unlimited[i]] && !(slice && unlimited[i] == NSCG_PIDS_MAX)) {
			lim->set[unlimited[i]] = true;
			lim->num[unlimited[i]] = NSCG_UNLIMITED;
		}
	if (!lim->set[NSCG_CPU_WEIGHT]) {
		lim->set[NSCG_CPU_WEIGHT] = true;
		lim->num[NSCG_CPU_WEIGHT] = 100;
	}
}

/* A memory limit below what the cgroup uses now would OOM-kill at once:
 * kept out without --force, and said so. Returns whether it was. */
static bool hold_back_memory(struct nscg_limits *lim, const struct nscg_usage *u, bool force,
			     const char *user, const char *what)
{
	char a[32], b[32];

	if (!lim->set[NSCG_MEMORY_MAX] || lim->num[NSCG_MEMORY_MAX] == NSCG_UNLIMITED ||
	    u->mem_current == NSCG_USAGE_UNKNOWN || lim->num[NSCG_MEMORY_MAX] >= u->mem_current)
		return false;
	nscg_format_bytes(lim->num[NSCG_MEMORY_MAX], a, sizeof(a));
	nscg_format_bytes(u->mem_current, b, sizeof(b));
	if (force) {
		printf("%s %s: memory.max %s is below the %s in use: applied (--force)\n", user, what,
		       a, b);
		return false;
	}
	lim->set[NSCG_MEMORY_MAX] = false;
	lim->set[NSCG_MEMORY_SWAP_MAX] = false; /* v1 derives it from memory.max */
	printf("%s %s: memory.max %s is below the %s in use: not applied (--force applies it)\n",
	       user, what, a, b);
	return true;
}

/* Apply lim to the cgroup at path (standalone), or to unit through
 * systemd after comparing with its cgroup. */
static int apply_one(const struct nscg_host *host, const char *path, const char *unit,
		     const struct nscg_limits *lim, const char *level, struct change_ctx *cc,
		     const struct nscg_log *log, unsigned *changes)
{
	struct nscg_apply_plan plan = { .dry_run = cc->dry_run || unit, .changed = print_change,
					.ctx = cc };
	struct nscg_cgroup cg;
	int r;

	nscg_cgroup_open_existing(host, path, &cg);
	r = nscg_cgroup_apply_plan(host, &cg, lim, level, &plan, log);
	nscg_cgroup_close(&cg);
	*changes += plan.changes;
	if (r < 0 || !unit || !plan.changes || cc->dry_run)
		return r;
	/* What is unset stays as it is: a limit held back, io.weight,
	 * cpuset.cpus; the rest policy_limits set. */
	const struct nscg_unit_limits u = { unit, lim, false };
	return nscg_sd_set_limits(&u, 1, BUS_TIMEOUT_MS, log);
}

/* A delegated session's limits are read inside it from copies
 * (delegate.h), written here directly in either mode, and not counted
 * again as changes: what bounds the session is its own cgroup's, so a
 * copy that cannot be written is said, not a failure. */
static int apply_mirror(const struct nscg_host *host, const char *path,
			const struct nscg_limits *lim, bool dry_run, const struct nscg_log *log)
{
	struct nscg_apply_plan plan = { .dry_run = dry_run };
	struct nscg_cgroup cg;

	nscg_cgroup_open_existing(host, path, &cg);
	int r = nscg_delegate_mirror(host, &cg, lim, &plan, log);
	nscg_cgroup_close(&cg);
	return r;
}

/* A failed apply: cgroup v1 refuses (EBUSY) a memory limit below what is
 * in use when it cannot reclaim down to it, where v2 OOM-kills. */
static void tally_failure(int r, const char *user, const char *what, unsigned *held,
			  unsigned *failed)
{
	if (r == -EBUSY) {
		printf("%s %s: the kernel could not reclaim the memory in use down to the new limit, and cgroup v1 refuses it then: not applied\n",
		       user, what);
		(*held)++;
	} else if (r < 0) {
		(*failed)++;
	}
}

int nscg_apply(const struct nscg_host *host, const struct nscg_policy *p,
	       const struct nscg_status *st, const struct nscg_apply_opts *o,
	       const struct nscg_log *log)
{
	struct nscg_resolved res;
	struct nscg_limits lim;
	unsigned changes = 0, held = 0, failed = 0;
	char by[64];

	who(by, sizeof(by));
	/* Each user's cgroup, from the policy of the user's first session. */
	for (size_t i = 0, k = 0; i < st->nusers; i++) {
		const struct nscg_status_user *u = &st->users[i];
		while (k < st->nsess && (st->sess[k].rec.uid != u->uid ||
					 strncmp(st->sess[k].rec.cgroup, u->cgroup, strlen(u->cgroup))))
			k++;
		if (k == st->nsess)
			break;
		const struct nscg_record *rec = &st->sess[k].rec;
		if (resolve(p, rec->user, rec->uid, rec->service, &res, log) < 0) {
			failed++;
			continue;
		}
		if (res.exempt) {
			printf("%s: now exempt (%s): limits left as they are\n", rec->user,
			       res.exempt_why);
			continue;
		}
		policy_limits(&res, NSCG_LEVEL_USER, rec->mode != NSCG_REC_STANDALONE, &lim);
		held += hold_back_memory(&lim, &u->u, o->force, rec->user, "user");
		struct change_ctx cc = { rec->user, "user", o->dry_run };
		const char *unit = rec->mode == NSCG_REC_STANDALONE ? NULL : strrchr(u->cgroup, '/');
		int r = apply_one(host, u->cgroup, unit ? unit + 1 : NULL, &lim, "user", &cc, log,
				  &changes);
		tally_failure(r, rec->user, "user", &held, &failed);
	}
	for (size_t i = 0; i < st->nsess; i++) {
		const struct nscg_status_session *s = &st->sess[i];
		const struct nscg_record *rec = &s->rec;
		char what[64];
		if (resolve(p, rec->user, rec->uid, rec->service, &res, log) < 0) {
			failed++;
			continue;
		}
		if (res.exempt)
			continue; /* said above */
		snprintf(what, sizeof(what), "session %s", rec->session);
		policy_limits(&res, NSCG_LEVEL_SESSION, false, &lim);
		held += hold_back_memory(&lim, &s->u, o->force, rec->user, what);
		struct change_ctx cc = { rec->user, what, o->dry_run };
		int r = apply_one(host, rec->cgroup,
				  rec->mode == NSCG_REC_STANDALONE ? NULL : rec->session, &lim,
				  "session", &cc, log, &changes);
		if (r == 0 && apply_mirror(host, rec->cgroup, &lim, o->dry_run, log) < 0)
			printf("%s %s: the copies of its limits below the delegation point are not all in step; the limits themselves are\n",
			       rec->user, what);
		tally_failure(r, rec->user, what, &held, &failed);
		/* The user's systemd manager gets a session's limits too
		 * (limit_user_manager), as at login. */
		if (rec->mode == NSCG_REC_LOGIND && res.v[NSCG_KEY_LIMIT_USER_MANAGER].num) {
			char unit[48], path[300];
			snprintf(unit, sizeof(unit), "user@%u.service", (unsigned)rec->uid);
			snprintf(path, sizeof(path), "%s/%s", rec->parent, unit);
			cc.what = unit;
			r = apply_one(host, path, unit, &lim, "session", &cc, log, &changes);
			tally_failure(r, rec->user, unit, &held, &failed);
		}
	}
	printf("%u change%s %s in %zu session%s of %zu user%s", changes, changes == 1 ? "" : "s",
	       o->dry_run ? "to make" : "made", st->nsess, st->nsess == 1 ? "" : "s", st->nusers,
	       st->nusers == 1 ? "" : "s");
	if (held)
		printf(", %u memory limit%s held back", held, held == 1 ? "" : "s");
	if (failed)
		printf(", %u failed", failed);
	printf("\n");
	if (changes && !o->dry_run) {
		char msg[160];
		snprintf(msg, sizeof(msg), "applied the policy to live sessions: %u changes, as %s asked",
			 changes, by);
		audit(msg);
	}
	return failed ? -EIO : held ? 1 : 0;
}
