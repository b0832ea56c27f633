/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What session.c shares with the managers that build a sandbox's
 * cgroups: standalone (cgroups of pam_nscg's own, manager-standalone.c)
 * and systemd's (a logind session's scope or a job's transient scope,
 * manager-systemd.c). session.c decides what a login gets, picks one
 * manager once, and does what is the same for all: the caller's cgroups,
 * the helper, the namespaces, the private /tmp. */
#ifndef NSCG_SESSION_INTERNAL_H
#define NSCG_SESSION_INTERNAL_H

#include "cgroup.h"
#include "delegate.h"
#include "logind.h"
#include "ns.h"
#include "policy.h"
#include "record.h"
#include "session.h"

/* How long a close waits for the session's processes to die: under load
 * (hundreds of logins ending at once) SIGKILLed processes can take
 * seconds to leave their cgroup. */
#define NSCG_KILL_TIMEOUT_MS 10000
/* How long a login waits for the uid lock. */
#define NSCG_LOCK_TIMEOUT_MS 5000

struct nscg_session {
	const struct nscg_manager *mgr;
	struct nscg_host host;
	struct nscg_cgroup orig; /* where the caller was, to go back */
	struct nscg_cgroup user; /* <parent>/user-UID (standalone) */
	struct nscg_cgroup sess; /* .../session-ID, or systemd's scope */
	struct nscg_ns_saved saved;
	unsigned ns_mask;
	bool kill_on_close;
	bool user_tmp; /* private_tmp = user: the user's tmpfs is on /tmp */
	bool delegate; /* delegate = yes: a subtree of the session for its user */
	struct nscg_delegation deleg; /* standalone: its cgroups (delegate.h) */
	unsigned deleg_descendants, deleg_depth; /* the policy's bounds */
	unsigned bus_timeout_ms;
	unsigned cpus; /* export_cpus: OMP_NUM_THREADS for the session; 0: none */
	uid_t uid;
	gid_t gid; /* the user's primary group */
	pid_t opener; /* the process that opened it: only it may close it */
	char parent[160]; /* the policy's cgroup_parent */
	char name[48]; /* session-ID, session-ID.scope or nscg-UID-ID.scope */
	char id[32]; /* the session's ID: %s of the hostname; logind's for TerminateSession */
	char where[256]; /* the session's cgroup or unit, for the log */
	char orig_unit[256]; /* a job's: the unit the caller came from */
};

/* A login as decided, for the manager that builds its sandbox. */
struct nscg_login {
	const struct nscg_resolved *res; /* uid-level keys from the uid's first name */
	const char *user; /* the passwd name */
	const char *service; /* the PAM service, may be NULL */
	const char *tty, *rhost; /* PAM_TTY, PAM_RHOST; may be NULL */
	const struct nscg_logind_session *ls; /* logind manager: the caller's session */
};

/* One way to make a session's cgroups, chosen once per login. */
struct nscg_manager {
	const char *name; /* for the log */
	enum nscg_record_mode mode; /* in the session's record */
	/* Put the caller into the session's cgroups with the policy's
	 * limits; fill s->sess, s->name, s->id and s->where. On failure
	 * nothing of the open is left. */
	enum nscg_open_result (*open)(struct nscg_session *s, const struct nscg_login *l,
				      const struct nscg_log *log);
	/* Undo a successful open whose later steps failed (NULL: nothing to
	 * undo); the caller is back in its own namespaces. */
	void (*undo)(struct nscg_session *s);
	/* End the session, with the caller back in its own namespaces: out
	 * of its cgroups, what is left killed if s->kill_on_close, the
	 * usage logged, the cgroups and records removed. */
	int (*close)(struct nscg_session *s, const struct nscg_log *log);
};

extern const struct nscg_manager nscg_manager_standalone;
extern const struct nscg_manager nscg_manager_logind;
extern const struct nscg_manager nscg_manager_job;

/* The record of session s (its name, s->parent and s->mgr set) for
 * login l: the session's cgroup is <parent>/user-UID/<name> for
 * standalone, user.slice/user-UID.slice/<name> for systemd's units. */
void nscg_session_record(const struct nscg_session *s, const struct nscg_login *l,
			 struct nscg_record *rec);

/* The accounting line of a closing session, read off s->sess. */
void nscg_session_log_usage(const struct nscg_session *s, const struct nscg_log *log);

/* "refusing a login of USER: N sessions are open and max_sessions is..." */
void nscg_log_refusal(const char *user, int live, const struct nscg_value *max,
		      const struct nscg_log *log);

#endif
