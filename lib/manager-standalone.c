/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Standalone mode (doc/design.md §3): the session's cgroups are pam_nscg's
 * own, <parent>/user-UID/session-ID in every used hierarchy, each with
 * its record (record.h) so that the sweep (sweep.h) finishes what no
 * close will. Logins take the uid lock only to count max_sessions. */
#include "session-internal.h"

#include "record.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define RMDIR_TIMEOUT_MS 500
/* Tasks a login needs free under user.pids.max to start at all. */
#define NSCG_LOGIN_TASKS 4u

/* Undo a half-built standalone session: back to where the caller was,
 * remove what this open made (a session cgroup made in some hierarchies
 * only, too), its record, and the user cgroup if it holds no session. */
static void standalone_undo(struct nscg_session *s)
{
	char path[256];

	(void)nscg_cgroup_attach(&s->host, &s->orig, 0);
	if (s->name[0]) {
		struct nscg_cgroup user;
		snprintf(path, sizeof(path), "%s/user-%u", s->parent, (unsigned)s->uid);
		nscg_cgroup_open_existing(&s->host, path, &user);
		if (nscg_cgroup_rmdir_session(&s->host, &user, s->name, RMDIR_TIMEOUT_MS) == 0)
			(void)nscg_record_remove(s->uid, s->name);
		nscg_cgroup_close(&user);
	}
	nscg_remove_user_cgroup(&s->host, s->parent, s->uid);
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
static int new_session_record(struct nscg_session *s, const struct nscg_login *l,
			      const struct nscg_log *log)
{
	struct nscg_record rec;
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return nscg_log_errno(log, LOG_ERR, -errno, "getrandom");
	snprintf(s->name, sizeof(s->name), "session-%08x", rnd);
	nscg_session_record(s, l, &rec);
	return nscg_record_write(&rec, log);
}

/* Make the session cgroup in every hierarchy, and on the way the parent
 * and the user cgroup where missing. Logins take no lock for it: a close
 * may remove the user cgroup between this walk making it and making the
 * session in it (ENOENT), and then the walk is tried again; once the
 * session exists, the user cgroup holds it and no close can remove it.
 * The user cgroup kept is the one the walk made the session in. Then
 * max_sessions (under the uid lock, which only logins counting sessions
 * take) and the room under user.pids.max are checked. */
static enum nscg_open_result make_session(struct nscg_session *s, const struct nscg_login *l,
					  const struct nscg_log *log)
{
	const struct nscg_resolved *res = l->res;
	const char *user = l->user;
	const struct nscg_value *max = &res->v[NSCG_KEY_MAX_SESSIONS];
	_cleanup_close_ int lock_fd = -1;
	char path[256];
	int races = 0, live = 0;

	if (max->num != NSCG_UNLIMITED) {
		/* Counting and making, one login of the uid at a time. */
		if ((lock_fd = nscg_lock_uid(s->uid, NSCG_LOCK_TIMEOUT_MS, log)) < 0)
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
			nscg_log_refusal(user, live, max, log);
			return NSCG_OPEN_REFUSED;
		}
	}
	/* A fresh name: mkdir must create it, so an orphan is never reused. */
	for (int tries = 0; tries < 8;) {
		bool created = false;
		snprintf(path, sizeof(path), "%s/user-%u/%s", s->parent, (unsigned)s->uid, s->name);
		/* On failure the name stays, for undo to remove what was
		 * made in some hierarchies. A race with a close is quiet. */
		int r = nscg_cgroup_create(&s->host, path, &s->sess, &s->user, &created,
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
		nscg_cgroup_close(&s->user);
		(void)nscg_record_remove(s->uid, s->name);
		if (++tries == 8 || new_session_record(s, l, log) < 0) {
			s->name[0] = '\0';
			return NSCG_OPEN_FAILED;
		}
	}
	/* s->user is the user cgroup the walk went through. */
	if (no_room_for_a_login(s, user, log))
		return NSCG_OPEN_REFUSED;
	return NSCG_OPEN_SANDBOXED;
}

/* Standalone mode: make <parent>/user-UID/session-ID in every hierarchy,
 * write the limits and move the caller in. On failure what was made is
 * removed again (s->name names the session cgroup once tried). */
static enum nscg_open_result standalone_open(struct nscg_session *s, const struct nscg_login *l,
					     const struct nscg_log *log)
{
	const struct nscg_resolved *res = l->res;
	enum nscg_open_result ret;
	struct nscg_limits lim;
	int r;

	/* Now and then, sessions of any user that nobody will close; the
	 * user's own always. */
	nscg_sweep_rate_limited(&s->host, s->parent, log);
	(void)nscg_sweep_user_at_login(&s->host, s->parent, s->uid,
				       res->v[NSCG_KEY_MAX_SESSIONS].num, log);
	if (new_session_record(s, l, log) < 0) {
		s->name[0] = '\0';
		return NSCG_OPEN_FAILED;
	}
	ret = make_session(s, l, log);
	if (ret != NSCG_OPEN_SANDBOXED) {
		standalone_undo(s);
		return ret;
	}
	/* The user's limits every time: the policy may have changed. */
	nscg_resolved_limits(res, NSCG_LEVEL_USER, &lim);
	if (nscg_cgroup_apply(&s->host, &s->user, &lim, "user", log) < 0)
		goto fail;
	nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &lim);
	if (nscg_cgroup_apply(&s->host, &s->sess, &lim, "session", log) < 0)
		goto fail;
	/* delegate: the caller goes into the subtree that is to be the root
	 * of the session's cgroup namespace, and leaves it once that is made
	 * (session.c). */
	if (s->delegate) {
		if (nscg_delegate_make(&s->host, &s->sess, s->deleg_descendants, s->deleg_depth,
				       &s->deleg, log) < 0)
			goto fail;
	} else if ((r = nscg_cgroup_attach(&s->host, &s->sess, 0)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot move the login into %s", s->name);
		goto fail;
	}
	snprintf(s->id, sizeof(s->id), "%s", s->name + strlen("session-"));
	snprintf(s->where, sizeof(s->where), "%s/user-%u/%s", s->parent,
		 (unsigned)s->uid, s->name);
	return NSCG_OPEN_SANDBOXED;
fail:
	standalone_undo(s);
	return NSCG_OPEN_FAILED;
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

static int standalone_close(struct nscg_session *s, const struct nscg_log *log)
{
	bool out = true;
	int r, ret = 0;

	if ((r = nscg_cgroup_attach(&s->host, &s->orig, 0)) < 0) {
		ret = nscg_log_errno(log, LOG_ERR, r, "cannot move back out of %s", s->name);
		out = false;
	}
	/* Never kill a cgroup the caller may still be in. Each step is
	 * logged; the first error is returned. */
	bool empty = false;
	if (s->kill_on_close && out) {
		r = nscg_cgroup_kill(&s->host, &s->sess, NSCG_KILL_TIMEOUT_MS);
		if (r < 0) {
			nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill", s->name);
			ret = ret < 0 ? ret : r;
		}
		empty = r == 0;
	}
	nscg_session_log_usage(s, log);
	if (empty || nscg_cgroup_populated(&s->host, &s->sess) == 0) {
		if ((r = nscg_cgroup_rmdir_session(&s->host, &s->user, s->name, RMDIR_TIMEOUT_MS)) < 0) {
			nscg_log_errno(log, LOG_ERR, r, "cannot remove %s", s->name);
			ret = ret < 0 ? ret : r;
		} else {
			(void)nscg_record_remove(s->uid, s->name);
		}
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

const struct nscg_manager nscg_manager_standalone = {
	.name = "standalone",
	.mode = NSCG_REC_STANDALONE,
	.open = standalone_open,
	.undo = standalone_undo,
	.close = standalone_close,
};
