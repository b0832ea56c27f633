/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record of a live session: a small root-owned file under
 * /run/nscg/sessions, written atomically when the session is built and
 * removed when it is gone. It tells the sweep (sweep.h) who opened a
 * standalone session, so that a session whose opener died, or whose
 * close could not finish, is finished by someone else; and it tells
 * nscgctl what each session is (status, apply, terminate), in systemd
 * mode too. Only root writes there, and only root reads there. */
#ifndef NSCG_RECORD_H
#define NSCG_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

#ifndef NSCG_RUN_DIR
#define NSCG_RUN_DIR "/run/nscg"
#endif

/* Who made the session's cgroup. */
enum nscg_record_mode {
	NSCG_REC_STANDALONE, /* pam_nscg: <parent>/user-UID/session-ID */
	NSCG_REC_LOGIND, /* systemd: the logind session's scope */
	NSCG_REC_JOB, /* systemd: a job's transient scope */
};

struct nscg_record {
	uid_t uid;
	char user[256];
	char session[48]; /* session-ID */
	char parent[160]; /* the policy's cgroup_parent when it was made */
	pid_t leader; /* the PAM caller that opened it */
	uint64_t leader_start; /* its start time (clock ticks since boot) */
	bool kill; /* kill_on_close */
	bool closing; /* its close ran but could not finish */
	/* What nscgctl shows. A record of an older module lacks them:
	 * then mode is standalone and cgroup <parent>/user-UID/<session>. */
	enum nscg_record_mode mode;
	char cgroup[256]; /* the session's cgroup, below each hierarchy's root */
	char service[64]; /* the PAM service; printable ASCII only */
	char tty[64]; /* PAM_TTY, "" if none */
	char rhost[256]; /* PAM_RHOST, "" if none */
	uint64_t start; /* when it was opened, seconds since the epoch */
	unsigned ns; /* its namespaces, NSCG_NS_* bits */
};

/* "standalone", "systemd" or "job". */
const char *nscg_record_mode_name(enum nscg_record_mode mode);

/* Copy a PAM item into a record field: NULL is "", what is not
 * printable ASCII becomes '?', what does not fit is cut. */
void nscg_record_text(char *dst, size_t len, const char *src);

/* An O_PATH fd of NSCG_RUN_DIR (made 0700 if missing), after checking
 * that it is root's and not writable by others; -errno with a log line. */
int nscg_run_dir(const struct nscg_log *log);

/* An exclusive lock on uid's standalone sessions (a lock file in
 * NSCG_RUN_DIR, outside cgroupfs, as the user cgroup comes and goes),
 * waited for at most timeout_ms (0: not at all). Held by a login that
 * counts the uid's sessions against max_sessions, from counting to
 * making its own, and while the user's tmpfs is made or removed; the
 * common login takes none, so hundreds of one user's logins at once do
 * not queue. Returns the lock's fd (close it to unlock) or -errno
 * (-EWOULDBLOCK when busy); logs unless busy and timeout_ms is 0. */
int nscg_lock_uid(uid_t uid, unsigned timeout_ms, const struct nscg_log *log);

/* Write rec atomically (a temporary file renamed into place). */
int nscg_record_write(const struct nscg_record *rec, const struct nscg_log *log);

/* Read the record of uid's session into *rec: 0, -ENOENT, -EBADMSG for
 * a file that is not a record, or -errno. */
int nscg_record_read(uid_t uid, const char *session, struct nscg_record *rec);

/* Remove it; a missing record is not an error. */
int nscg_record_remove(uid_t uid, const char *session);

/* Call fn for every record, in no particular order; stops at the first
 * negative return of fn and returns it. Files that are not records are
 * skipped. -ENOENT-free: no directory is no records. */
int nscg_record_each(int (*fn)(const struct nscg_record *rec, void *ctx), void *ctx);

/* The start time of pid (field 22 of /proc/PID/stat), or 0 if pid does
 * not exist. */
uint64_t nscg_pid_start_time(pid_t pid);

/* Whether the opener of rec still runs: the same pid with the same start
 * time, so a reused pid does not count. */
bool nscg_record_leader_alive(const struct nscg_record *rec);

#endif
