/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "logind.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "PREFIXmiddleSUFFIX" with a middle of 1 to maxmid characters from
 * set: copies the middle to mid (NUL-terminated). */
static bool split_name(const char *s, size_t len, const char *prefix,
		       const char *suffix, const char *set, size_t maxmid,
		       char *mid)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (len <= pl + sl || len - pl - sl > maxmid || strncmp(s, prefix, pl) ||
	    strncmp(s + len - sl, suffix, sl))
		return false;
	size_t ml = len - pl - sl;
	for (size_t i = 0; i < ml; i++)
		if (!strchr(set, s[pl + i]) || s[pl + i] == '\0')
			return false;
	memcpy(mid, s + pl, ml);
	mid[ml] = '\0';
	return true;
}

static bool is_slice(const char *s, size_t len)
{
	return len > 6 && !strncmp(s + len - 6, ".slice", 6);
}

/* Every component before the last two is a slice. */
static bool only_slices_before(const char *path, const char *end)
{
	for (const char *c = path; c < end;) {
		c += strspn(c, "/");
		size_t n = strcspn(c, "/");
		if (c >= end)
			break;
		if (!is_slice(c, n))
			return false;
		c += n;
	}
	return true;
}

static bool parse_scope_path(const char *path, struct nscg_logind_session *out)
{
	static const char digits[] = "0123456789";
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const char *last = strrchr(path, '/'), *prev;
	char uid[16];

	if (!last || last == path)
		return false;
	for (prev = last - 1; prev > path && *prev != '/'; prev--)
		;
	if (*prev != '/' || !only_slices_before(path, prev))
		return false;
	if (!split_name(last + 1, strlen(last + 1), "session-", ".scope", alnum,
			sizeof(out->id) - 1, out->id) ||
	    !split_name(prev + 1, (size_t)(last - prev - 1), "user-", ".slice", digits, 10, uid))
		return false;
	uint64_t u;
	if (nscg_parse_u64(uid, &u) < 0 || u >= UINT32_MAX)
		return false;
	out->uid = (uid_t)u;
	snprintf(out->scope, sizeof(out->scope), "session-%s.scope", out->id);
	snprintf(out->slice, sizeof(out->slice), "user-%u.slice", (unsigned)out->uid);
	return true;
}

/* The path of the hierarchy systemd manages: the unified one ("0::"),
 * or name=systemd on a hybrid host. */
static bool systemd_line(const char *ctrls)
{
	return !strcmp(ctrls, "") || !strcmp(ctrls, "name=systemd");
}

int nscg_logind_parse(const char *proc_cgroup, struct nscg_logind_session *out)
{
	_cleanup_free_ char *copy = strdup(proc_cgroup);
	const char *ctrls, *path;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	for (char *cur = copy; nscg_proc_cgroup_next(&cur, &ctrls, &path);)
		if (systemd_line(ctrls) && parse_scope_path(path, out))
			return 1;
	memset(out, 0, sizeof(*out));
	return 0;
}

/* An env-style record of logind's, read whole into *buf (malloc'd):
 * 0, -ENOENT if there is none, or -errno. */
static int logind_record(const char *file, char **buf)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	*buf = NULL;
	return fd < 0 ? -errno : nscg_read_fd(fd, 1 << 16, buf, NULL);
}

/* The value of KEY= in such a record: where it starts, and its length
 * in *len; NULL without the key. */
static const char *record_value(const char *buf, const char *key, size_t *len)
{
	size_t kl = strlen(key);

	for (const char *line = buf; line && *line;) {
		size_t n = strcspn(line, "\n");
		if (n > kl && !strncmp(line, key, kl) && line[kl] == '=') {
			*len = n - kl - 1;
			return line + kl + 1;
		}
		line = line[n] ? line + n + 1 : NULL;
	}
	return NULL;
}

/* A number from min to max in such a record: 0, -ENODATA without the
 * key, -EBADMSG for anything else. */
static int record_number(const char *buf, const char *key, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	size_t len;
	const char *v = record_value(buf, key, &len);
	char num[24];

	if (!v)
		return -ENODATA;
	if (len >= sizeof(num))
		return -EBADMSG;
	memcpy(num, v, len);
	num[len] = '\0';
	if (nscg_parse_u64(num, out) < 0 || *out < min || *out > max)
		return -EBADMSG;
	return 0;
}

int nscg_logind_current(struct nscg_logind_session *out)
{
	_cleanup_free_ char *buf = NULL, *rec = NULL;
	char file[80];
	uint64_t uid, leader;
	int r;

	if ((r = nscg_proc_cgroup_read(0, &buf)) < 0)
		return r;
	if ((r = nscg_logind_parse(buf, out)) <= 0)
		return r;
	/* logind's record of the session: its owner and its leader. A
	 * path with no record is no session logind knows. */
	snprintf(file, sizeof(file), "/run/systemd/sessions/%s", out->id);
	r = logind_record(file, &rec);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = record_number(rec, "UID", 0, UINT32_MAX - 1, &uid)) < 0 ||
	    (r = record_number(rec, "LEADER", 1, INT32_MAX, &leader)) < 0)
		return r;
	out->uid = (uid_t)uid;
	out->leader = (pid_t)leader;
	snprintf(out->slice, sizeof(out->slice), "user-%u.slice", (unsigned)out->uid);
	return 1;
}

int nscg_logind_count_sessions(uid_t uid)
{
	_cleanup_free_ char *rec = NULL;
	char file[64];
	size_t len = 0;
	int n = 0, r;

	snprintf(file, sizeof(file), "/run/systemd/users/%u", (unsigned)uid);
	r = logind_record(file, &rec);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	const char *v = record_value(rec, "SESSIONS", &len);
	if (!v)
		return 0; /* no key, no sessions */
	/* Words separated by spaces. */
	for (const char *c = v, *end = v + len; c < end;) {
		while (c < end && *c == ' ')
			c++;
		const char *w = c;
		while (c < end && *c != ' ')
			c++;
		n += c > w;
	}
	return n;
}

bool nscg_systemd_booted(void)
{
	struct stat st;

	/* What sd_booted(3) checks. */
	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* The unit a systemd cgroup path is in: its first component that is no
 * slice, into buf. */
static int unit_of_path(const char *path, char *buf, size_t len)
{
	for (const char *c = path; *c;) {
		c += strspn(c, "/");
		size_t n = strcspn(c, "/");
		if (n && !is_slice(c, n)) {
			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(buf, c, n);
			buf[n] = '\0';
			return 0;
		}
		c += n;
	}
	return -ENODATA;
}

/* Call fn for the path of each hierarchy systemd may manage (the unified
 * one, name=systemd) in /proc/PID/cgroup, the unified one first, until
 * fn returns true. */
static bool each_systemd_path(pid_t pid, bool (*fn)(const char *path, void *ctx), void *ctx)
{
	_cleanup_free_ char *buf = NULL;
	const char *ctrls, *path, *named = NULL;

	if (nscg_proc_cgroup_read(pid, &buf) < 0)
		return false;
	for (char *cur = buf; nscg_proc_cgroup_next(&cur, &ctrls, &path);) {
		if (!strcmp(ctrls, "") && fn(path, ctx))
			return true;
		if (!strcmp(ctrls, "name=systemd"))
			named = path;
	}
	return named && fn(named, ctx);
}

struct unit_buf {
	char *buf;
	size_t len;
	int r;
};

static bool unit_found(const char *path, void *ctx)
{
	struct unit_buf *u = ctx;

	u->r = unit_of_path(path, u->buf, u->len);
	return u->r == 0;
}

int nscg_pid_unit(pid_t pid, char *buf, size_t len)
{
	struct unit_buf u = { buf, len, -ENODATA };

	return each_systemd_path(pid, unit_found, &u) ? 0 : u.r;
}

static bool ends_in_unit(const char *path, void *unit)
{
	const char *last = strrchr(path, '/');

	return last && !strcmp(last + 1, unit);
}

bool nscg_pid_in_unit(pid_t pid, const char *unit)
{
	return each_systemd_path(pid, ends_in_unit, (void *)unit);
}
