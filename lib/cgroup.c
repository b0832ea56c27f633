/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hierarchy-independent half of cgroup handling: host detection,
 * walking and creating paths, attaching, killing and removing. What a
 * limit is called in a hierarchy is the backend's business. */
#include "cgroup.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_MOUNT "/sys/fs/cgroup"
#define MAX_MOUNTINFO (4u << 20)

static const struct {
	const char *name;
	unsigned bit;
} ctrl_names[] = {
	{ "memory", NSCG_CTRL_MEMORY }, { "cpu", NSCG_CTRL_CPU },
	{ "cpuacct", NSCG_CTRL_CPUACCT }, { "cpuset", NSCG_CTRL_CPUSET },
	{ "pids", NSCG_CTRL_PIDS }, { "blkio", NSCG_CTRL_IO },
	{ "io", NSCG_CTRL_IO }, { "freezer", NSCG_CTRL_FREEZER },
};

static unsigned ctrl_bit(const char *name, size_t n)
{
	for (size_t i = 0; i < ELEMENTSOF(ctrl_names); i++)
		if (strlen(ctrl_names[i].name) == n &&
		    !strncmp(ctrl_names[i].name, name, n))
			return ctrl_names[i].bit;
	return 0;
}

unsigned nscg_ctrl_mask(const char *list, bool *other)
{
	unsigned mask = 0;

	while (*list) {
		size_t n = strcspn(list, ", \n");
		unsigned bit = ctrl_bit(list, n);
		mask |= bit;
		if (!bit && n && other && strncmp(list, "name=", 5) &&
		    strncmp(list, "rw", n) && strncmp(list, "ro", n))
			*other = true;
		list += n;
		list += strspn(list, ", \n");
	}
	return mask;
}

const char *nscg_layout_name(enum nscg_layout layout)
{
	switch (layout) {
	case NSCG_LAYOUT_V1: return "v1";
	case NSCG_LAYOUT_HYBRID: return "hybrid";
	case NSCG_LAYOUT_V2: return "v2";
	}
	return "?";
}

int nscg_write_at(int dirfd, const char *file, const char *value)
{
	_cleanup_close_ int fd = -1;

	fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* One write(2): cgroupfs takes a value per write. */
	ssize_t w = write(fd, value, strlen(value));
	if (w < 0)
		return -errno;
	return (size_t)w == strlen(value) ? 0 : -EIO;
}

int nscg_read_at(int dirfd, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	size_t n = 0;

	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (int)n;
}

/* A number, or with max_ok "max" for NSCG_UNLIMITED, from file. */
static int read_number_at(int dirfd, const char *file, bool max_ok, uint64_t *out)
{
	char buf[32];
	int r = nscg_read_at(dirfd, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	if (max_ok && !strcmp(buf, "max")) {
		*out = NSCG_UNLIMITED;
		return 0;
	}
	return nscg_parse_u64(buf, out);
}

int nscg_read_u64_at(int dirfd, const char *file, uint64_t *out)
{
	return read_number_at(dirfd, file, false, out);
}

int nscg_read_limit_at(int dirfd, const char *file, uint64_t *out)
{
	return read_number_at(dirfd, file, true, out);
}

int nscg_read_keyed(int dirfd, const char *file, const char *key,
		    uint64_t *out)
{
	char buf[4096];
	size_t kl = strlen(key);
	int r = nscg_read_at(dirfd, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			return nscg_parse_u64(line + kl + 1, out);
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

void nscg_cgroup_init(struct nscg_cgroup *cg)
{
	for (size_t i = 0; i < NSCG_MAX_HIER; i++)
		cg->fd[i] = -1;
}

void nscg_cgroup_close(struct nscg_cgroup *cg)
{
	for (size_t i = 0; i < NSCG_MAX_HIER; i++)
		cg->fd[i] = nscg_close(cg->fd[i]);
}

void nscg_host_close(struct nscg_host *host)
{
	for (size_t i = 0; i < host->n; i++)
		host->h[i].root_fd = nscg_close(host->h[i].root_fd);
	host->n = 0;
}

bool nscg_hier_used(const struct nscg_hier *h)
{
	return h->ops->used(h);
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPT...] -
 * FSTYPE SOURCE SUPEROPTS". Returns true for a cgroup mount. */
static bool parse_mount(char *line, char **dev, char **mnt, char **fstype,
			char **superopts)
{
	char *f[6], *save = NULL, *sep = strstr(line, " - ");
	int i = 0;

	if (!sep)
		return false;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && i < 5;
	     t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	if (i < 5)
		return false;
	*dev = f[2];
	*mnt = f[4];
	save = NULL;
	*fstype = strtok_r(sep + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* source */
	*superopts = strtok_r(NULL, " \n", &save);
	return *fstype && *superopts &&
	       (!strcmp(*fstype, "cgroup") || !strcmp(*fstype, "cgroup2"));
}

/* Copy the mountinfo field src (up to a space) to dst unescaped: the
 * kernel writes space, tab, newline and backslash as \ooo. */
static int unescape_field(const char *src, char *dst, size_t len)
{
	size_t o = 0;

	for (const char *c = src; *c && *c != ' ' && *c != '\n'; o++) {
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] >= '0' && c[2] <= '7' &&
		    c[3] >= '0' && c[3] <= '7') {
			dst[o] = (char)((c[1] - '0') << 6 | (c[2] - '0') << 3 | (c[3] - '0'));
			c += 4;
		} else {
			dst[o] = *c++;
		}
	}
	dst[o] = '\0';
	return 0;
}

int nscg_view_next_host_mount(const char *mountinfo, const unsigned *skip, size_t nskip,
			      char *path, size_t len, unsigned *id)
{
	const char *best = NULL;
	size_t best_len = SIZE_MAX;
	bool best_below = false;
	unsigned best_id = 0;
	const size_t root_len = strlen(CGROUP_MOUNT);

	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *mnt = line, *sep = NULL;
		unsigned long mid = strtoul(line, NULL, 10);

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPT...] - FSTYPE ..." */
		for (int i = 0; i < 4 && mnt; i++) {
			mnt = memchr(mnt, ' ', (size_t)(end - mnt));
			mnt = mnt ? mnt + 1 : NULL;
		}
		for (const char *c = mnt; c && c + 3 <= end && !sep; c++)
			if (!memcmp(c, " - ", 3))
				sep = c + 3;
		line = nl ? nl + 1 : NULL;
		if (!mnt || !sep)
			continue;
		size_t mlen = strcspn(mnt, " \n");
		size_t flen = strcspn(sep, " \n");
		bool below = mlen >= root_len && !strncmp(mnt, CGROUP_MOUNT, root_len) &&
			     (mlen == root_len || mnt[root_len] == '/');
		bool cgroupfs = (flen == 6 && !strncmp(sep, "cgroup", 6)) ||
				(flen == 7 && !strncmp(sep, "cgroup2", 7));
		bool skipped = false;
		for (size_t i = 0; i < nskip && !skipped; i++)
			skipped = skip[i] == mid;
		if (skipped || !(below || cgroupfs))
			continue;
		/* Below /sys/fs/cgroup first, the shallowest first: detaching
		 * it takes what is mounted under it. */
		if (best && (best_below > below || (best_below == below && best_len <= mlen)))
			continue;
		best = mnt;
		best_len = mlen;
		best_below = below;
		best_id = (unsigned)mid;
	}
	if (!best)
		return 0;
	*id = best_id;
	int r = unescape_field(best, path, len);
	return r < 0 ? r : 1;
}

int nscg_host_detect(const char *mountinfo, struct nscg_host *out,
		     const struct nscg_log *log)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	char devs[NSCG_MAX_HIER][32];
	bool v2_root = false, unified = false;
	int r;

	memset(out, 0, sizeof(*out));
	fd = open(mountinfo ? mountinfo : "/proc/self/mountinfo",
		  O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return nscg_log_errno(log, LOG_ERR, -errno,
				      "cannot read the mount table");
	r = nscg_read_fd(fd, MAX_MOUNTINFO, &buf, NULL);
	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r,
				      "cannot read the mount table");
	for (char *line = buf, *nl; line && *line; line = nl) {
		char *dev, *mnt, *fstype, *opts;
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (!parse_mount(line, &dev, &mnt, &fstype, &opts))
			continue;
		/* Only /sys/fs/cgroup and its direct children; names with
		 * escapes (\040...) are not cgroup mounts we manage. */
		if (strchr(mnt, '\\') ||
		    (strcmp(mnt, CGROUP_MOUNT) &&
		     (strncmp(mnt, CGROUP_MOUNT "/", sizeof(CGROUP_MOUNT)) ||
		      strchr(mnt + sizeof(CGROUP_MOUNT), '/'))))
			continue;
		bool dup = false;
		for (size_t i = 0; i < out->n && !dup; i++)
			dup = !strcmp(devs[i], dev); /* mounted twice */
		if (dup)
			continue;
		if (out->n == NSCG_MAX_HIER) {
			nscg_log(log, LOG_WARNING,
				 "more than %d cgroup hierarchies; ignoring %s",
				 NSCG_MAX_HIER, mnt);
			continue;
		}
		struct nscg_hier *h = &out->h[out->n];
		bool v2 = !strcmp(fstype, "cgroup2");
		h->ops = v2 ? &nscg_backend_v2 : &nscg_backend_v1;
		snprintf(h->mount, sizeof(h->mount), "%s", mnt);
		snprintf(h->opts, sizeof(h->opts), "%s", opts);
		snprintf(devs[out->n], sizeof(devs[out->n]), "%s", dev);
		h->root_fd = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (h->root_fd < 0) {
			r = nscg_log_errno(log, LOG_ERR, -errno, "cannot open %s", mnt);
			nscg_host_close(out);
			return r;
		}
		if (v2) {
			char ctrls[512];
			/* Only what the root offers can be enabled below it. */
			if (nscg_read_at(h->root_fd, "cgroup.controllers", ctrls,
					 sizeof(ctrls)) >= 0)
				h->ctrls = nscg_ctrl_mask(ctrls, NULL);
			/* Accounting comes with the cpu controller, and the
			 * freezer is core on v2. */
			if (h->ctrls & NSCG_CTRL_CPU)
				h->ctrls |= NSCG_CTRL_CPUACCT;
			h->ctrls |= NSCG_CTRL_FREEZER;
			if (!strcmp(mnt, CGROUP_MOUNT))
				v2_root = true;
			else
				unified = true;
		} else {
			bool other = false;
			h->ctrls = nscg_ctrl_mask(opts, &other);
			h->named = !h->ctrls && !other;
		}
		out->n++;
	}
	if (out->n == 0) {
		nscg_log(log, LOG_ERR, "no cgroup filesystem is mounted under %s",
			 CGROUP_MOUNT);
		return -ENOENT;
	}
	out->layout = v2_root ? NSCG_LAYOUT_V2 :
		      unified ? NSCG_LAYOUT_HYBRID :
				NSCG_LAYOUT_V1;
	return 0;
}

/* The walk of nscg_cgroup_open and nscg_cgroup_create: path under every
 * used hierarchy into out, and with parent its parent. */
static int cgroup_walk(const struct nscg_host *host, const char *path, bool create,
		       struct nscg_cgroup *out, struct nscg_cgroup *parent, bool *created,
		       const struct nscg_log *log)
{
	const int flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
	int r = 0;

	nscg_cgroup_init(out);
	if (parent)
		nscg_cgroup_init(parent);
	if (created)
		*created = false;
	for (size_t i = 0; i < host->n; i++) {
		const struct nscg_hier *h = &host->h[i];
		_cleanup_close_ int fd = -1;

		if (!nscg_hier_used(h))
			continue;
		fd = openat(h->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto fail;
		}
		for (const char *c = path; *c;) {
			char comp[256];
			size_t n = strcspn(c, "/");
			bool last = c[n] == '\0';
			int child = -1;

			if (n == 0 || n >= sizeof(comp)) {
				r = -EINVAL;
				goto fail;
			}
			memcpy(comp, c, n);
			comp[n] = '\0';
			c += n + !last;
			bool made = false;
			/* Ancestors mostly exist: open first, make if missing.
			 * The last component is made, so that a name in use is
			 * seen as such. */
			if (create && !last)
				child = openat(fd, comp, flags);
			if (create && child < 0 && (last || errno == ENOENT)) {
				if (mkdirat(fd, comp, 0755) == 0)
					made = true;
				else if (errno != EEXIST) {
					r = nscg_log_errno(log, LOG_ERR, -errno,
							   "cannot create %s/%s",
							   h->mount, path);
					goto fail;
				}
			}
			if (child < 0)
				child = openat(fd, comp, flags);
			if (child < 0) {
				r = -errno;
				if (create || r != -ENOENT)
					nscg_log_errno(log, LOG_ERR, r,
						       "cannot open %s/%s",
						       h->mount, path);
				goto fail;
			}
			/* Not only when we made it: a concurrent login may have
			 * made it an instant ago and not prepared it yet. */
			if (create && (r = h->ops->prepare(h, fd, child)) < 0) {
				nscg_close(child);
				nscg_log_errno(log, LOG_ERR, r, "cannot prepare %s/%s for tasks",
					       h->mount, path);
				goto fail;
			}
			if (made && last && created)
				*created = true;
			if (last && parent)
				parent->fd[i] = TAKE_FD(fd);
			nscg_close(fd);
			fd = child;
		}
		out->fd[i] = TAKE_FD(fd);
	}
	return 0;
fail:
	nscg_cgroup_close(out);
	if (parent)
		nscg_cgroup_close(parent);
	return r;
}

int nscg_cgroup_open(const struct nscg_host *host, const char *path,
		     bool create, struct nscg_cgroup *out, bool *created,
		     const struct nscg_log *log)
{
	return cgroup_walk(host, path, create, out, NULL, created, log);
}

int nscg_cgroup_create(const struct nscg_host *host, const char *path, struct nscg_cgroup *out,
		       struct nscg_cgroup *parent, bool *created, const struct nscg_log *log)
{
	return cgroup_walk(host, path, true, out, parent, created, log);
}

void nscg_cgroup_open_existing(const struct nscg_host *host, const char *path,
			       struct nscg_cgroup *out)
{
	nscg_cgroup_init(out);
	/* There are no symbolic links inside cgroupfs. */
	for (size_t i = 0; i < host->n; i++)
		if (nscg_hier_used(&host->h[i]))
			out->fd[i] = openat(host->h[i].root_fd, path,
					    O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int nscg_cgroup_open_of(const struct nscg_host *host, pid_t pid, const char *leaf,
			struct nscg_cgroup *out)
{
	_cleanup_free_ char *buf = NULL;
	const char *ctrls, *path;
	int r;

	nscg_cgroup_init(out);
	if ((r = nscg_proc_cgroup_read(pid, &buf)) < 0)
		return r;
	for (char *cur = buf; nscg_proc_cgroup_next(&cur, &ctrls, &path);) {
		const char *base = strrchr(path, '/');
		if (leaf && strcmp(base ? base + 1 : path, leaf))
			continue;
		for (size_t i = 0; i < host->n; i++) {
			const struct nscg_hier *h = &host->h[i];
			if (!nscg_hier_used(h) || out->fd[i] >= 0 || !h->ops->owns_line(h, ctrls))
				continue;
			out->fd[i] = openat(h->root_fd, path[1] ? path + 1 : ".",
					    O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (out->fd[i] < 0) {
				r = -errno;
				nscg_cgroup_close(out);
				return r;
			}
		}
	}
	return 0;
}

/* The cgroup at fd, or one of its ancestors below root, has a
 * cgroup.procs that is not root's; the walk is bounded by the kernel's
 * nesting (and by 256 levels here). */
static bool delegated_at(int root, int fd)
{
	struct stat top, st;
	_cleanup_close_ int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (cur < 0 || fstat(root, &top) < 0)
		return false;
	for (int depth = 0; depth < 256; depth++) {
		if (fstatat(cur, "cgroup.procs", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != 0)
			return true;
		if (fstat(cur, &st) < 0 || (st.st_ino == top.st_ino && st.st_dev == top.st_dev))
			return false;
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return false;
		nscg_close(cur);
		cur = up;
	}
	return false;
}

bool nscg_cgroup_delegated(const struct nscg_host *host, const struct nscg_cgroup *cg)
{
	for (size_t i = 0; i < host->n; i++)
		if (cg->fd[i] >= 0 && delegated_at(host->h[i].root_fd, cg->fd[i]))
			return true;
	return false;
}

/* Whether the file's text now means val: v1 writes "no limit" as -1 and
 * reads it back as a huge number. */
static bool same_value(const char *now, const char *val)
{
	uint64_t n, v;

	if (!strcmp(now, val))
		return true;
	if (nscg_parse_u64(now, &n) < 0)
		return false;
	if (!strcmp(val, "-1"))
		return n >= (1ull << 62);
	/* The kernel keeps byte limits in pages, rounded down. */
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	return nscg_parse_u64(val, &v) == 0 && v > n && v - n < page && n % page == 0;
}

int nscg_cgroup_put(int dirfd, const char *file, const char *val, struct nscg_apply_plan *plan,
		    bool *done)
{
	char now[4200];
	int r;

	if (plan) {
		if ((r = nscg_read_at(dirfd, file, now, sizeof(now))) < 0)
			return r == -ENOENT ? 0 : r;
		now[strcspn(now, "\n")] = '\0';
		if (same_value(now, val)) {
			*done = true;
			return 0;
		}
		plan->changes++;
		if (plan->changed)
			plan->changed(plan->ctx, file, now, val);
		if (plan->dry_run) {
			*done = true;
			return 0;
		}
	}
	r = nscg_write_at(dirfd, file, val);
	if (r == -ENOENT)
		return 0; /* not offered by this kernel: reported as such */
	if (r < 0)
		return r;
	*done = true;
	return 0;
}

int nscg_cgroup_apply(const struct nscg_host *host, const struct nscg_cgroup *cg,
		      const struct nscg_limits *lim, const char *what,
		      const struct nscg_log *log)
{
	return nscg_cgroup_apply_plan(host, cg, lim, what, NULL, log);
}

int nscg_cgroup_apply_plan(const struct nscg_host *host, const struct nscg_cgroup *cg,
			   const struct nscg_limits *lim, const char *what,
			   struct nscg_apply_plan *plan, const struct nscg_log *log)
{
	bool done[NSCG_LIMIT_COUNT] = { false };
	char missing[512];
	size_t o = 0;
	int first = 0;

	for (size_t i = 0; i < host->n; i++) {
		if (cg->fd[i] < 0)
			continue;
		int r = host->h[i].ops->apply(&host->h[i], cg->fd[i], lim, done, plan);
		if (r < 0) {
			nscg_log_errno(log, LOG_ERR, r, "cannot set the %s limits in %s", what,
				       host->h[i].mount);
			/* A login fails at once; a plan (a live session) goes
			 * on with the other hierarchies. */
			if (!plan)
				return r;
			first = first < 0 ? first : r;
		}
	}
	if (first < 0)
		return first;
	missing[0] = '\0';
	for (int k = 0; k < NSCG_LIMIT_COUNT; k++) {
		if (!lim->set[k] || done[k])
			continue;
		o += (size_t)snprintf(missing + o, sizeof(missing) - o, "%s%s.%s",
				      o ? ", " : "", what, nscg_limit_name((enum nscg_limit)k));
		if (o >= sizeof(missing))
			break;
	}
	if (missing[0])
		nscg_log(log, LOG_WARNING,
			 "this host cannot honour %s (%s layout); not applied",
			 missing, nscg_layout_name(host->layout));
	return 0;
}

int nscg_cgroup_attach(const struct nscg_host *host,
		       const struct nscg_cgroup *cg, pid_t pid)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < host->n; i++) {
		if (cg->fd[i] < 0)
			continue;
		int r = nscg_write_at(cg->fd[i], "cgroup.procs", buf);
		if (r < 0)
			return r;
	}
	return 0;
}

int nscg_cgroup_populated(const struct nscg_host *host, const struct nscg_cgroup *cg)
{
	for (size_t i = 0; i < host->n; i++) {
		char buf[16];
		if (cg->fd[i] < 0)
			continue;
		/* v2 counts the cgroups below too (a delegated subtree),
		 * where cgroup.procs may be empty and the subtree not. */
		if (host->h[i].ops == &nscg_backend_v2) {
			uint64_t v;
			int r = nscg_read_keyed(cg->fd[i], "cgroup.events", "populated", &v);
			if (r < 0)
				return r;
			if (v)
				return 1;
			continue;
		}
		int r = nscg_read_at(cg->fd[i], "cgroup.procs", buf, sizeof(buf));
		if (r < 0)
			return r;
		if (r > 0)
			return 1;
	}
	return 0;
}

int nscg_cgroup_pids(const struct nscg_host *host, const struct nscg_cgroup *cg,
		     uint64_t *current, uint64_t *max)
{
	for (size_t i = 0; i < host->n; i++) {
		int r;
		if (cg->fd[i] < 0 || !(host->h[i].ctrls & NSCG_CTRL_PIDS))
			continue;
		if ((r = nscg_read_u64_at(cg->fd[i], "pids.current", current)) < 0)
			return r;
		return nscg_read_limit_at(cg->fd[i], "pids.max", max);
	}
	return -ENOENT;
}


/* SIGKILL every pid listed in cgroup.procs at dirfd but self (0: none
 * spared); how many were, or -errno. */
static int kill_listed_but(int dirfd, pid_t self)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int n = 0, r;

	if (fd < 0)
		return -errno;
	if ((r = nscg_read_fd(fd, 4u << 20, &buf, NULL)) < 0)
		return r;
	for (char *s = buf, *end; *s; s = end) {
		long pid = strtol(s, &end, 10);
		if (end == s)
			break;
		if (pid > 0 && pid != self) {
			(void)kill((pid_t)pid, SIGKILL);
			n++;
		}
	}
	return n;
}

/* Kill once: cgroup.kill where a hierarchy has it, else SIGKILL to every
 * pid listed, with the cgroup frozen meanwhile where a hierarchy can
 * freeze it, so that nothing forks between listing and killing. */
static void kill_round(const struct nscg_host *host, const struct nscg_cgroup *cg)
{
	size_t frozen = host->n;

	for (size_t i = 0; i < host->n; i++)
		if (cg->fd[i] >= 0 && host->h[i].ops->kill_all(&host->h[i], cg->fd[i]) == 0)
			return;
	for (size_t i = 0; i < host->n && frozen == host->n; i++)
		if (cg->fd[i] >= 0 && host->h[i].ops->freeze(&host->h[i], cg->fd[i], true) == 0)
			frozen = i;
	for (size_t i = 0; i < host->n; i++)
		if (cg->fd[i] >= 0)
			(void)kill_listed_but(cg->fd[i], 0);
	if (frozen < host->n)
		(void)host->h[frozen].ops->freeze(&host->h[frozen], cg->fd[frozen], false);
}

int nscg_cgroup_kill(const struct nscg_host *host, const struct nscg_cgroup *cg,
		     unsigned timeout_ms)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;

	/* Under load the killed take a while to leave: look again after
	 * 1, 2, 4 ... at most 64 ms, so that hundreds of closes waiting at
	 * once do not keep the CPUs busy with looking. */
	for (unsigned pause = 1;; pause = pause < 64 ? pause * 2 : 64) {
		int r = nscg_cgroup_populated(host, cg);
		if (r <= 0)
			return r == -ENOENT ? 0 : r;
		uint64_t now = nscg_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		kill_round(host, cg);
		nscg_sleep_ms(deadline - now < pause ? (unsigned)(deadline - now) : pause);
	}
}

int nscg_cgroup_kill_others(const struct nscg_host *host, const struct nscg_cgroup *cg,
			    unsigned timeout_ms)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	pid_t self = getpid();

	for (unsigned pause = 1;; pause = pause < 64 ? pause * 2 : 64) {
		int left = 0;
		for (size_t i = 0; i < host->n; i++) {
			if (cg->fd[i] < 0)
				continue;
			int n = kill_listed_but(cg->fd[i], self);
			if (n > 0)
				left += n;
		}
		if (left == 0)
			return 0;
		uint64_t now = nscg_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		nscg_sleep_ms(deadline - now < pause ? (unsigned)(deadline - now) : pause);
	}
}

void nscg_cgroup_usage(const struct nscg_host *host,
		       const struct nscg_cgroup *cg, struct nscg_usage *u)
{
	u->cpu_usec = u->nr_throttled = u->throttled_usec = NSCG_USAGE_UNKNOWN;
	u->mem_current = u->mem_peak = u->mem_max = u->oom_kills = NSCG_USAGE_UNKNOWN;
	u->tasks = u->tasks_max = NSCG_USAGE_UNKNOWN;
	for (size_t i = 0; i < host->n; i++)
		if (cg->fd[i] >= 0)
			host->h[i].ops->usage(&host->h[i], cg->fd[i], u);
	if (nscg_cgroup_pids(host, cg, &u->tasks, &u->tasks_max) < 0)
		u->tasks = u->tasks_max = NSCG_USAGE_UNKNOWN;
}

void nscg_cgroup_open_child(const struct nscg_host *host, const struct nscg_cgroup *parent,
			    const char *name, struct nscg_cgroup *out)
{
	nscg_cgroup_init(out);
	for (size_t i = 0; i < host->n; i++)
		if (parent->fd[i] >= 0)
			out->fd[i] = openat(parent->fd[i], name,
					    O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* Remove the cgroups below dirfd, depth first. A directory that is not
 * root's (a delegated subtree, delegate.h) becomes root's before it is
 * read, so that nobody can make another cgroup in it meanwhile. */
static int rmdir_below(int dirfd, unsigned depth)
{
	struct stat st;
	int ret = 0;

	if (depth > NSCG_SUBTREE_MAX_DEPTH)
		return -ELOOP;
	uint64_t populated;
	if (fstat(dirfd, &st) < 0)
		return -errno;
	/* A cgroup with processes below stays as it is, and the user's. */
	if (nscg_read_keyed(dirfd, "cgroup.events", "populated", &populated) == 0 && populated)
		return -EBUSY;
	if ((st.st_uid != 0 || st.st_gid != 0) && fchownat(dirfd, "", 0, 0, AT_EMPTY_PATH) < 0)
		return -errno;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		ret = -errno;
		nscg_close(fd);
		return ret;
	}
	for (struct dirent *e; (e = readdir(dir));) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		_cleanup_close_ int child = openat(dirfd, e->d_name,
						   O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		int r = child < 0 ? -errno : rmdir_below(child, depth + 1);
		if (r == 0 && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = -errno;
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = r;
	}
	closedir(dir);
	return ret;
}

static int rmdir_all(const struct nscg_host *host, const struct nscg_cgroup *parent,
		     const char *name, unsigned timeout_ms, bool below)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	int ret = 0;

	for (size_t i = 0; i < host->n; i++) {
		if (parent->fd[i] < 0)
			continue;
		for (;;) {
			if (unlinkat(parent->fd[i], name, AT_REMOVEDIR) == 0 ||
			    errno == ENOENT)
				break;
			/* EBUSY: the last task is still leaving, or cgroups
			 * are below (a delegated session's). */
			if (errno == EBUSY && below) {
				_cleanup_close_ int fd = openat(parent->fd[i], name,
								O_PATH | O_DIRECTORY | O_CLOEXEC |
									O_NOFOLLOW);
				if (fd >= 0)
					(void)rmdir_below(fd, 0);
				if (unlinkat(parent->fd[i], name, AT_REMOVEDIR) == 0 || errno == ENOENT)
					break;
			}
			if (errno != EBUSY || nscg_now_ms() >= deadline) {
				if (ret == 0)
					ret = -errno; /* the first error */
				break;
			}
			nscg_sleep_ms(2);
		}
	}
	return ret;
}

int nscg_cgroup_rmdir(const struct nscg_host *host, const struct nscg_cgroup *parent,
		      const char *name, unsigned timeout_ms)
{
	return rmdir_all(host, parent, name, timeout_ms, false);
}

int nscg_cgroup_rmdir_session(const struct nscg_host *host, const struct nscg_cgroup *parent,
			      const char *name, unsigned timeout_ms)
{
	return rmdir_all(host, parent, name, timeout_ms, true);
}
