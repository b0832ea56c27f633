/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

#include "limits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>

int nscg_close(int fd)
{
	if (fd >= 0) {
		/* Linux releases the fd even when close() fails with EINTR:
		 * retrying could close an fd another thread just opened. */
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -1;
}

int nscg_read_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap - 1) {
			if (cap - 1 > max) {
				free(buf);
				return -EFBIG;
			}
			size_t ncap = cap * 2;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int nscg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int nscg_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int nscg_parse_bytes(const char *s, uint64_t *out)
{
	char digits[32];
	size_t n = strlen(s);
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (n == 0 || n >= sizeof(digits))
		return -EINVAL;
	switch (s[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: break;
	}
	if (shift)
		n--;
	memcpy(digits, s, n);
	digits[n] = '\0';
	r = nscg_parse_u64(digits, &v);
	if (r < 0)
		return r;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void nscg_format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char suffix[] = "KMGT";
	unsigned i = 0;

	if (bytes == NSCG_UNLIMITED) {
		snprintf(buf, len, "max");
		return;
	}
	while (i < 4 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes,
			 suffix[i - 1]);
}

bool nscg_name_is_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (++n > NSCG_NAME_MAX)
			return false;
		if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == ':')
			return false;
	}
	return true;
}

bool nscg_kernel_at_least(const char *release, unsigned major, unsigned minor)
{
	unsigned ma, mi;

	if (!release || sscanf(release, "%u.%u", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

const char *nscg_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	if (!s) {
		snprintf(buf, len, "(null)");
		return buf;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[5];
		size_t t;

		if (*p == '\\' || *p == '"')
			t = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p < ' ' || *p >= 0x7f)
			t = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else
			t = (size_t)snprintf(tmp, sizeof(tmp), "%c", *p);
		if (o + t + 1 > len) {
			/* Mark the truncation where there is room for it. */
			size_t m = len > 4 ? len - 4 : 0;
			if (o > m)
				o = m;
			snprintf(buf + o, len - o, "...");
			return buf;
		}
		memcpy(buf + o, tmp, t);
		o += t;
	}
	buf[o] = '\0';
	return buf;
}

bool nscg_streq_icase(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

void nscg_strv_free(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

/* Bounded: NSS may report ever larger counts, but never loop forever. */
#define MAX_GROUPS 65536

#define MAX_PW_BUF (1u << 20)

/* getpwnam_r (name) or getpwuid_r (uid), with a buffer that grows. */
static int pw_lookup(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = hint > 0 && hint < MAX_PW_BUF ? (size_t)hint : 16384;
	struct passwd *res = NULL;
	int r;

	*buf = NULL;
	for (;;) {
		char *nb = realloc(*buf, len);
		if (!nb) {
			free(*buf);
			*buf = NULL;
			return -ENOMEM;
		}
		*buf = nb;
		r = name ? getpwnam_r(name, pw, *buf, len, &res) :
			   getpwuid_r(uid, pw, *buf, len, &res);
		if (r != ERANGE || len >= MAX_PW_BUF)
			break;
		len *= 2;
	}
	if (r == 0 && !res)
		r = ENOENT;
	if (r != 0) {
		free(*buf);
		*buf = NULL;
	}
	return -r;
}

int nscg_getpwnam(const char *name, struct passwd *pw, char **buf)
{
	return pw_lookup(name, 0, pw, buf);
}

int nscg_getpwuid(uid_t uid, struct passwd *pw, char **buf)
{
	return pw_lookup(NULL, uid, pw, buf);
}

int nscg_user_groups(const char *user, gid_t gid, char ***names, size_t *n)
{
	_cleanup_free_ gid_t *gids = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t buflen = 4096;
	int ngids = 64, r;
	_cleanup_strv_ char **v = NULL;
	size_t out = 0;

	for (;;) {
		int want = ngids;
		gid_t *g = realloc(gids, (size_t)ngids * sizeof(*g));
		if (!g)
			return -ENOMEM;
		gids = g;
		if (getgrouplist(user, gid, gids, &ngids) >= 0)
			break;
		/* ngids now holds the count needed. */
		if (ngids <= want)
			ngids = want * 2;
		if (ngids > MAX_GROUPS)
			return -E2BIG;
	}
	v = calloc((size_t)ngids + 1, sizeof(*v));
	buf = malloc(buflen);
	if (!v || !buf)
		return -ENOMEM;
	for (int i = 0; i < ngids; i++) {
		struct group gr, *res = NULL;
		for (;;) {
			r = getgrgid_r(gids[i], &gr, buf, buflen, &res);
			if (r != ERANGE || buflen >= (1u << 20))
				break;
			char *nb = realloc(buf, buflen * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			buflen *= 2;
		}
		/* A lookup that failed is not a group the user lacks: a
		 * dropped group could drop a limit or an exemption. */
		if (r != 0)
			return -r;
		if (!res)
			continue; /* a gid without a name */
		if (!(v[out] = strdup(gr.gr_name)))
			return -ENOMEM;
		out++;
	}
	*names = TAKE_PTR(v);
	*n = out;
	return 0;
}

int nscg_group_gid(const char *group, gid_t *gid)
{
	_cleanup_free_ char *buf = NULL;
	size_t buflen = 1024;
	uint64_t n;
	int r;

	if (nscg_parse_u64(group, &n) == 0) {
		if (n >= UINT32_MAX)
			return -ERANGE;
		*gid = (gid_t)n;
		return 0;
	}
	for (;;) {
		struct group gr, *res = NULL;
		char *nb = realloc(buf, buflen);
		if (!nb)
			return -ENOMEM;
		buf = nb;
		r = getgrnam_r(group, &gr, buf, buflen, &res);
		if (r == ERANGE && buflen < (1u << 20)) {
			buflen *= 2;
			continue;
		}
		if (r != 0)
			return -r;
		if (!res)
			return -ENOENT;
		*gid = gr.gr_gid;
		return 0;
	}
}

uint64_t nscg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void nscg_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

DIR *nscg_opendir_at(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0) {
		int e = errno;
		nscg_close(fd);
		errno = e;
	}
	return d;
}

int nscg_proc_stat(pid_t pid, char *state, pid_t *ppid, uint64_t *start)
{
	char path[64], buf[1024];
	unsigned long long st = 0;
	int pp = 0;
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The name may hold anything, ')' too: fields start after the last. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || sscanf(p + 2, "%*c %d", &pp) != 1)
		return -EIO;
	if (state)
		*state = p[2];
	if (ppid)
		*ppid = (pid_t)pp;
	/* p + 1 is the space before field 3; on to the one before field 22. */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &st) != 1)
		return -EIO;
	if (start)
		*start = st;
	return 0;
}

int nscg_proc_cgroup_read(pid_t pid, char **out)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return nscg_read_fd(fd, 1 << 16, out, NULL);
}

bool nscg_proc_cgroup_next(char **cursor, const char **ctrls, const char **path)
{
	while (*cursor && **cursor) {
		char *line = *cursor, *nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		*cursor = nl;
		/* "ID:CONTROLLERS:PATH"; a path may hold ':' itself. */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		*ctrls = c1 + 1;
		*path = c2 + 1;
		return true;
	}
	return false;
}
