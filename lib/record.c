/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "record.h"

#include "ns.h"
#include "util.h"
#include "watch.h"

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

#define SESSIONS_DIR "sessions"
#define MAX_RECORD 2048

int nscg_run_dir(const struct nscg_log *log)
{
	struct stat st;
	int fd;

	if (mkdir(NSCG_RUN_DIR, 0700) < 0 && errno != EEXIST)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot create %s", NSCG_RUN_DIR);
	fd = open(NSCG_RUN_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = nscg_log_errno(log, LOG_ERR, -errno, "cannot open %s", NSCG_RUN_DIR);
		nscg_close(fd);
		return r;
	}
	/* Whoever may write here may forge a lock or a record. */
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		nscg_close(fd);
		nscg_log(log, LOG_ERR, "refusing %s: not root's or writable by others", NSCG_RUN_DIR);
		return -EPERM;
	}
	return fd;
}

int nscg_lock_uid(uid_t uid, unsigned timeout_ms, const struct nscg_log *log)
{
	_cleanup_close_ int dfd = nscg_run_dir(log);
	char name[32];
	int fd;

	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "uid-%u.lock", (unsigned)uid);
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot open %s/%s", NSCG_RUN_DIR, name);
	/* Try again after 1, 2, 4 ... at most 8 ms: hundreds of logins of
	 * one user waiting at once must not keep the CPUs busy trying. */
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	for (unsigned pause = 1;; pause = pause < 8 ? pause * 2 : 8) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		int r = -errno;
		if (r == -EWOULDBLOCK && timeout_ms == 0) {
			nscg_close(fd);
			return r;
		}
		if ((r != -EWOULDBLOCK && r != -EINTR) || nscg_now_ms() >= deadline) {
			nscg_log_errno(log, LOG_ERR, r, "cannot lock the cgroups of uid %u",
				       (unsigned)uid);
			nscg_close(fd);
			return r;
		}
		nscg_sleep_ms(pause);
	}
}

/* The sessions directory, made if missing (mode 0700, root's). */
static int sessions_dir(bool create, const struct nscg_log *log)
{
	_cleanup_close_ int run = nscg_run_dir(log);
	struct stat st;
	int fd;

	if (run < 0)
		return run;
	if (create && mkdirat(run, SESSIONS_DIR, 0700) < 0 && errno != EEXIST)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot create %s/%s", NSCG_RUN_DIR,
				      SESSIONS_DIR);
	fd = openat(run, SESSIONS_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		nscg_close(fd);
		nscg_log(log, LOG_ERR, "refusing %s/%s: not root's or writable by others",
			 NSCG_RUN_DIR, SESSIONS_DIR);
		return -EPERM;
	}
	return fd;
}

static void record_name(uid_t uid, const char *session, char *buf, size_t len)
{
	snprintf(buf, len, "uid-%u.%s", (unsigned)uid, session);
}

int nscg_record_write(const struct nscg_record *rec, const struct nscg_log *log)
{
	_cleanup_close_ int dfd = sessions_dir(true, log);
	char name[96], tmp[112], body[MAX_RECORD];
	int fd, r, n;

	if (dfd < 0)
		return dfd;
	record_name(rec->uid, rec->session, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	n = snprintf(body, sizeof(body),
		     "uid=%u\nuser=%s\nsession=%s\nparent=%s\nleader=%d\nleader_start=%llu\nkill=%d\nclosing=%d\n"
		     "mode=%s\ncgroup=%s\nservice=%s\ntty=%s\nrhost=%s\nstart=%llu\nns=%u\n",
		     (unsigned)rec->uid, rec->user, rec->session, rec->parent, (int)rec->leader,
		     (unsigned long long)rec->leader_start, rec->kill, rec->closing,
		     nscg_record_mode_name(rec->mode), rec->cgroup, rec->service, rec->tty,
		     rec->rhost, (unsigned long long)rec->start, rec->ns);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -ENAMETOOLONG;
	(void)unlinkat(dfd, tmp, 0); /* left by a writer that died */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot write %s/%s/%s", NSCG_RUN_DIR,
				      SESSIONS_DIR, tmp);
	r = nscg_write_all(fd, body, (size_t)n);
	nscg_close(fd);
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		return nscg_log_errno(log, LOG_ERR, r, "cannot write %s/%s/%s", NSCG_RUN_DIR,
				      SESSIONS_DIR, name);
	}
	return 0;
}

static const char *const mode_names[] = {
	[NSCG_REC_STANDALONE] = "standalone",
	[NSCG_REC_LOGIND] = "systemd",
	[NSCG_REC_JOB] = "job",
};

const char *nscg_record_mode_name(enum nscg_record_mode mode)
{
	return mode < ELEMENTSOF(mode_names) ? mode_names[mode] : "?";
}

void nscg_record_text(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* A standalone session is session-HEX; systemd's are units: session-ID.scope
 * (logind's IDs are alphanumeric) or nscg-UID-HEX.scope. */
static bool session_name_ok(const char *s, enum nscg_record_mode mode)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t n = strlen(s);

	if (n >= sizeof(((struct nscg_record *)0)->session))
		return false;
	if (mode == NSCG_REC_STANDALONE)
		return !strncmp(s, "session-", 8) && n > 8 &&
		       strspn(s + 8, "0123456789abcdef") == n - 8;
	const char *prefix = mode == NSCG_REC_LOGIND ? "session-" : "nscg-";
	size_t p = strlen(prefix);
	return n > p + 6 && !strncmp(s, prefix, p) && !strcmp(s + n - 6, ".scope") &&
	       strspn(s + p, mode == NSCG_REC_LOGIND ? alnum : "0123456789abcdef-") == n - p - 6;
}

/* A relative cgroup path of plain names. */
static bool path_ok(const char *s)
{
	if (!*s || *s == '/' || s[strlen(s) - 1] == '/' || strstr(s, "..") || strstr(s, "//"))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@/") ==
	       strlen(s);
}

/* A text field: no more than fits. */
static int text_field(const char *v, char *dst, size_t len)
{
	if (strlen(v) >= len)
		return -EBADMSG;
	strcpy(dst, v);
	return 0;
}

static int parse_u64_field(const char *v, uint64_t max, uint64_t *out)
{
	return nscg_parse_u64(v, out) < 0 || *out > max ? -EBADMSG : 0;
}

/* Parse a record's text; every field of the first version must be there
 * and every field well-formed. */
static int parse_record(char *text, struct nscg_record *rec)
{
	unsigned seen = 0;
	char session[sizeof(rec->session)] = "";
	uint64_t v;

	memset(rec, 0, sizeof(*rec));
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			return -EBADMSG;
		*eq = '\0';
		const char *k = line, *val = eq + 1;
		int r = 0;
		if (!strcmp(k, "uid")) {
			r = parse_u64_field(val, UINT32_MAX - 1, &v);
			rec->uid = (uid_t)v;
			seen |= 1;
		} else if (!strcmp(k, "user")) {
			r = nscg_name_is_valid(val) ? text_field(val, rec->user, sizeof(rec->user)) : -EBADMSG;
			seen |= 2;
		} else if (!strcmp(k, "session")) {
			r = text_field(val, session, sizeof(session));
			seen |= 4;
		} else if (!strcmp(k, "parent")) {
			r = path_ok(val) ? text_field(val, rec->parent, sizeof(rec->parent)) : -EBADMSG;
			seen |= 8;
		} else if (!strcmp(k, "leader")) {
			r = parse_u64_field(val, INT32_MAX, &v) < 0 || v == 0 ? -EBADMSG : 0;
			rec->leader = (pid_t)v;
			seen |= 16;
		} else if (!strcmp(k, "leader_start")) {
			r = parse_u64_field(val, UINT64_MAX, &rec->leader_start);
			seen |= 32;
		} else if (!strcmp(k, "kill") || !strcmp(k, "closing")) {
			r = parse_u64_field(val, 1, &v);
			*(k[0] == 'k' ? &rec->kill : &rec->closing) = v != 0;
			seen |= k[0] == 'k' ? 64 : 128;
		} else if (!strcmp(k, "mode")) {
			size_t m = 0;
			while (m < ELEMENTSOF(mode_names) && strcmp(val, mode_names[m]))
				m++;
			r = m < ELEMENTSOF(mode_names) ? 0 : -EBADMSG;
			rec->mode = (enum nscg_record_mode)m;
		} else if (!strcmp(k, "cgroup")) {
			r = path_ok(val) ? text_field(val, rec->cgroup, sizeof(rec->cgroup)) : -EBADMSG;
		} else if (!strcmp(k, "service") || !strcmp(k, "tty")) {
			r = k[0] == 's' ? text_field(val, rec->service, sizeof(rec->service)) :
					  text_field(val, rec->tty, sizeof(rec->tty));
		} else if (!strcmp(k, "rhost")) {
			r = text_field(val, rec->rhost, sizeof(rec->rhost));
		} else if (!strcmp(k, "start")) {
			r = parse_u64_field(val, UINT64_MAX, &rec->start);
		} else if (!strcmp(k, "ns")) {
			r = parse_u64_field(val, NSCG_NS_ALL, &v);
			rec->ns = (unsigned)v;
		}
		/* Unknown keys are skipped: a newer writer may add some. */
		if (r < 0)
			return -EBADMSG;
	}
	/* The name is checked against the mode, which may come after it. */
	if (seen != 255 || !session_name_ok(session, rec->mode))
		return -EBADMSG;
	strcpy(rec->session, session);
	/* The cgroup is where the mode puts the session, and nowhere else:
	 * <parent>/user-UID/NAME, or user.slice/user-UID.slice/NAME. */
	char want[sizeof(rec->cgroup)];
	int n = rec->mode == NSCG_REC_STANDALONE ?
			snprintf(want, sizeof(want), "%s/user-%u/%s", rec->parent, (unsigned)rec->uid,
				 rec->session) :
			snprintf(want, sizeof(want), "user.slice/user-%u.slice/%s", (unsigned)rec->uid,
				 rec->session);
	if (n < 0 || (size_t)n >= sizeof(want) || (rec->cgroup[0] && strcmp(rec->cgroup, want)))
		return -EBADMSG;
	strcpy(rec->cgroup, want);
	return 0;
}

static int read_at(int dfd, const char *name, struct nscg_record *rec)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	/* Only root's regular files are records. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EBADMSG;
	if ((r = nscg_read_fd(fd, MAX_RECORD, &buf, NULL)) < 0)
		return r;
	return parse_record(buf, rec);
}

int nscg_record_read(uid_t uid, const char *session, struct nscg_record *rec)
{
	_cleanup_close_ int dfd = sessions_dir(false, NULL);
	char name[96];
	int r;

	if (dfd < 0)
		return dfd == -ENOENT ? -ENOENT : dfd;
	record_name(uid, session, name, sizeof(name));
	r = read_at(dfd, name, rec);
	if (r == 0 && (rec->uid != uid || strcmp(rec->session, session)))
		return -EBADMSG; /* a file under another record's name */
	return r;
}

int nscg_status_socket(uid_t uid, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, NSCG_STATUS_DIR "/%u.%s", (unsigned)uid, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int nscg_record_remove(uid_t uid, const char *session)
{
	_cleanup_close_ int dfd = sessions_dir(false, NULL);
	char name[96];

	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	record_name(uid, session, name, sizeof(name));
	/* The watcher's socket goes with the record (watch.h): a watcher
	 * killed with its session leaves it. */
	char sock[160];
	if (nscg_status_socket(uid, session, sock, sizeof(sock)) == 0)
		(void)unlink(sock);
	return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

int nscg_record_each(int (*fn)(const struct nscg_record *rec, void *ctx), void *ctx)
{
	_cleanup_close_ int dfd = sessions_dir(false, NULL);
	_cleanup_closedir_ DIR *d = NULL;
	struct nscg_record rec;
	int r = 0;

	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	if (!(d = nscg_opendir_at(dfd)))
		return -errno;
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		if (strncmp(de->d_name, "uid-", 4))
			continue;
		if (read_at(dfd, de->d_name, &rec) == 0)
			r = fn(&rec, ctx);
	}
	return r < 0 ? r : 0;
}

uint64_t nscg_pid_start_time(pid_t pid)
{
	uint64_t start;
	char state;

	return nscg_proc_stat(pid, &state, NULL, &start) < 0 ? 0 : start;
}

bool nscg_record_leader_alive(const struct nscg_record *rec)
{
	uint64_t start;
	char state;

	/* A zombie has ended: it will never close its session. */
	return nscg_proc_stat(rec->leader, &state, NULL, &start) == 0 && state != 'Z' &&
	       start == rec->leader_start;
}
