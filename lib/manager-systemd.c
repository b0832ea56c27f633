/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd mode (doc/design.md §6): the session's cgroups are systemd's. A
 * logind session keeps its scope, a job (no logind session on a machine
 * systemd runs) gets a transient scope of its own; the limits go to
 * systemd as unit properties (sdbus.h). pam_nscg creates nothing in
 * systemd's tree and writes none of its cgroup files, but below a scope
 * of its own that systemd delegated to it (delegate = yes, delegate.h). */
#include "session-internal.h"

#include "record.h"
#include "sdbus.h"
#include "sweep.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

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

/* The session's record, for nscgctl: systemd's units need none for the
 * sweep, so it is written once they are in place. */
static enum nscg_open_result write_record(struct nscg_session *s, const struct nscg_login *l,
					  const struct nscg_log *log)
{
	struct nscg_record rec;

	nscg_session_record(s, l, &rec);
	return nscg_record_write(&rec, log) < 0 ? NSCG_OPEN_FAILED : NSCG_OPEN_SANDBOXED;
}

/* Undo a job open, or a logind one with delegate: the caller back to its
 * own unit, the scope of ours stopped (systemd removes what is below). */
static void job_undo(struct nscg_session *s)
{
	(void)nscg_record_remove(s->uid, s->name);
	(void)nscg_sd_end_scope(s->name, s->orig_unit, getpid(), true, s->bus_timeout_ms, NULL);
}

/* Undo a logind open: the scope and its limits are logind's session,
 * which goes on; only the record goes. */
static void logind_undo(struct nscg_session *s)
{
	if (s->delegate)
		job_undo(s);
	else
		(void)nscg_record_remove(s->uid, s->name);
}

/* A scope of pam_nscg's own, nscg-UID-ID.scope in user-UID.slice, started
 * with the caller in it and the session.* limits lim: systemd's own way
 * to a cgroup in its tree, as systemd-run --scope. With delegate = yes it
 * is delegated (Delegate=yes, to root: what is below its cgroup is ours)
 * and holds the layout of delegate.h. */
static int own_scope(struct nscg_session *s, const struct nscg_login *l,
		     const struct nscg_limits *lim, const struct nscg_log *log)
{
	char slice[40], description[320];
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return nscg_log_errno(log, LOG_ERR, -errno, "getrandom");
	snprintf(s->id, sizeof(s->id), "%08x", rnd);
	snprintf(s->name, sizeof(s->name), "nscg-%u-%08x.scope", (unsigned)s->uid, rnd);
	snprintf(slice, sizeof(slice), "user-%u.slice", (unsigned)s->uid);
	snprintf(description, sizeof(description), "pam_nscg session of %s (%s)", l->user,
		 l->service ? l->service : "no service");
	/* Where close moves the caller back to, before it ends the scope.
	 * With delegate it must go back: it never stays in the scope. */
	if (nscg_pid_unit(getpid(), s->orig_unit, sizeof(s->orig_unit)) < 0)
		s->orig_unit[0] = '\0';
	if (s->delegate && !s->orig_unit[0])
		return nscg_log_errno(log, LOG_ERR, -ENOENT,
				      "delegate: the login comes from no unit to go back to");
	const pid_t pids[] = { getpid() };
	int r = nscg_sd_start_scope(s->name, slice, pids, ELEMENTSOF(pids), description, lim,
				    s->delegate, s->bus_timeout_ms, log);
	if (r < 0)
		return r;
	snprintf(s->where, sizeof(s->where), "%s/%s (systemd%s)", slice, s->name,
		 s->delegate ? ", delegated" : "");
	if ((r = nscg_cgroup_open_of(&s->host, 0, s->name, &s->sess)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open %s", s->name);
		job_undo(s);
		return r;
	}
	if (s->delegate && (r = nscg_delegate_make(&s->host, &s->sess, s->deleg_descendants,
						   s->deleg_depth, &s->deleg, log)) < 0) {
		job_undo(s);
		return r;
	}
	return 0;
}

/* systemd mode: the caller is in logind's scope already (s->orig). The
 * limits go to systemd as unit properties; nothing is created. */
static enum nscg_open_result logind_open(struct nscg_session *s, const struct nscg_login *l,
					 const struct nscg_log *log)
{
	const struct nscg_logind_session *ls = l->ls;
	const struct nscg_resolved *res = l->res;
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
			nscg_log_refusal(l->user, live, max, log);
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
	/* delegate: the login's processes go to a delegated scope of ours;
	 * logind's keeps the watcher, and so the session. */
	if (s->delegate) {
		if (own_scope(s, l, &slim, log) < 0)
			return NSCG_OPEN_FAILED;
		snprintf(s->id, sizeof(s->id), "%s", ls->id);
		if (write_record(s, l, log) != NSCG_OPEN_SANDBOXED) {
			job_undo(s);
			return NSCG_OPEN_FAILED;
		}
		return NSCG_OPEN_SANDBOXED;
	}
	/* The scope, for the usage at close (read, never written): opened
	 * now, as systemd may have just put it into more hierarchies. */
	int r = nscg_cgroup_open_of(&s->host, 0, ls->scope, &s->sess);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot open %s", ls->scope);
		return NSCG_OPEN_FAILED;
	}
	snprintf(s->name, sizeof(s->name), "%s", ls->scope);
	snprintf(s->id, sizeof(s->id), "%s", ls->id);
	snprintf(s->where, sizeof(s->where), "%s/%s (systemd)", ls->slice, ls->scope);
	return write_record(s, l, log);
}

/* A login that is no logind session, on a systemd machine (a cron or at
 * job): a transient scope nscg-UID-ID.scope in user-UID.slice, started
 * with the caller in it and the session.* limits; the
 * user.* limits on the slice. systemd's own way to a cgroup in its tree,
 * as systemd-run --scope; nothing of pam_nscg's own there. */
static enum nscg_open_result job_open(struct nscg_session *s, const struct nscg_login *l,
				      const struct nscg_log *log)
{
	const struct nscg_resolved *res = l->res;
	struct nscg_limits ulim, slim;
	char slice[40];

	nscg_resolved_limits(res, NSCG_LEVEL_USER, &ulim);
	nscg_resolved_limits(res, NSCG_LEVEL_SESSION, &slim);
	if (s->host.layout != NSCG_LAYOUT_V2)
		log_v1_unapplied(&ulim, &slim, log);
	if (own_scope(s, l, &slim, log) < 0)
		return NSCG_OPEN_FAILED;
	/* Now that the slice is loaded: its limits, unset ones reset. */
	snprintf(slice, sizeof(slice), "user-%u.slice", (unsigned)s->uid);
	const struct nscg_unit_limits units[] = { { slice, &ulim, true } };
	if (nscg_sd_set_limits(units, 1, s->bus_timeout_ms, log) < 0) {
		job_undo(s);
		return NSCG_OPEN_FAILED;
	}
	if (write_record(s, l, log) != NSCG_OPEN_SANDBOXED) {
		job_undo(s);
		return NSCG_OPEN_FAILED;
	}
	return NSCG_OPEN_SANDBOXED;
}

/* systemd mode: nothing of systemd's is removed or written. With
 * kill_on_close the scope's processes get SIGKILL from us, all but the
 * caller; then logind terminates the session, which reaches the caller
 * as well, as logind's own KillUserProcesses=yes does: it comes last. A
 * job scope is stopped after the caller went back to its own unit. */
static int systemd_close(struct nscg_session *s, const struct nscg_log *log)
{
	bool job = s->mgr == &nscg_manager_job;

	nscg_session_log_usage(s, log);
	(void)nscg_record_remove(s->uid, s->name);
	/* The user's tmpfs goes with their last logind session (a job is
	 * none: then there must be none left). */
	if (s->user_tmp) {
		int lock_fd = nscg_lock_uid(s->uid, NSCG_LOCK_TIMEOUT_MS, log);
		if (lock_fd >= 0) {
			nscg_release_user_tmp(s->uid, job ? 0 : 1);
			nscg_close(lock_fd);
		}
	}
	/* With delegate the caller leaves the scope of ours in any case;
	 * without kill_on_close what is left runs on in it. */
	if (!s->kill_on_close)
		return s->delegate ? nscg_sd_end_scope(s->name, s->orig_unit, getpid(), false,
						       s->bus_timeout_ms, log) :
				     0;
	/* First every process of the scope but this one, at once and with
	 * SIGKILL: systemd's stop sends SIGTERM and waits TimeoutStopSec
	 * (90 s) before it kills what ignores it. With delegate the user's
	 * are in the subtree below the scope, ours (cgroup.kill), and the
	 * caller beside it. */
	int r = s->delegate ? nscg_delegate_kill(&s->host, &s->sess, NSCG_KILL_TIMEOUT_MS) :
			      nscg_cgroup_kill_others(&s->host, &s->sess, NSCG_KILL_TIMEOUT_MS);
	if (r < 0)
		nscg_log_errno(log, LOG_ERR, r, "processes of %s survived the kill", s->name);
	int t = 0;
	if (job || s->delegate)
		t = nscg_sd_end_scope(s->name, s->orig_unit, getpid(), true, s->bus_timeout_ms, log);
	if (!job) {
		int u = nscg_logind_terminate(s->id, s->bus_timeout_ms, log);
		t = t < 0 ? t : u;
	}
	return r < 0 ? r : t;
}

const struct nscg_manager nscg_manager_logind = {
	.name = "systemd",
	.mode = NSCG_REC_LOGIND,
	.open = logind_open,
	.undo = logind_undo,
	.close = systemd_close,
};

const struct nscg_manager nscg_manager_job = {
	.name = "systemd job",
	.mode = NSCG_REC_JOB,
	.open = job_open,
	.undo = job_undo,
	.close = systemd_close,
};
