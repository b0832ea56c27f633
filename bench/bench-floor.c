/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's own cost of what a pam_nscg standalone login asks of it,
 * with nothing else: no PAM, no policy, no records, no accounting. One
 * fresh process per session, as login, su and pamtester are; the script
 * (bench/run-login.sh) runs it N times and takes medians.
 *
 *   bench-floor --setup PARENT   make PARENT in every used hierarchy
 *   bench-floor --remove PARENT  remove it
 *   bench-floor PARENT           one session; on stdout, in microseconds:
 *       find_us   read /proc/self/mountinfo and /proc/self/cgroup, open
 *                 the hierarchies and our own cgroups
 *       mkdir_us  mkdir PARENT/user-PID and .../session-PID in each used
 *                 hierarchy (v1 cpuset: cpus and mems copied from the
 *                 parent; v2: the user cgroup's subtree_control), then
 *                 the limits of the benchmark policy (user.cpu.max = 200%,
 *                 session.memory.max = 1G, session.pids.max = 512) under
 *                 the v1 or v2 names
 *       attach_us our pid into each session cgroup's cgroup.procs
 *       ns_us     fork and exec of ourselves (--child), which unshares
 *                 the mount, IPC, UTS and cgroup namespaces, makes "/" a
 *                 recursive slave, mounts a tmpfs on /dev/shm and the
 *                 session's /sys/fs/cgroup (as nscg-helper's
 *                 remount_cgroupfs: a tmpfs, one mount per hierarchy with
 *                 its exact options, links for co-mounted controllers,
 *                 read-only; on v2 umount + cgroup2); then setns into its
 *                 namespaces through a pidfd, and its exit and reaping
 *       close_us  setns back to the saved namespaces, our pid back into
 *                 our own cgroups, rmdir session and user cgroups
 *       total_us  all of it
 *       used, mounted: how many hierarchies got cgroups, how many the
 *                 session's /sys/fs/cgroup mounts
 *   bench-floor --true           fork, exec /bin/true, wait: true_us
 *
 * The used hierarchies are pam_nscg's: each v1 hierarchy carrying a
 * controller it manages (memory, cpu, cpuacct, cpuset, pids, blkio,
 * freezer) and the unified one; devices and named ones (name=systemd)
 * get no cgroup but are mounted in the session's view, as the helper
 * does. Any failure is reported on stderr with exit status 1, after
 * undoing whatever the run had done. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CG "/sys/fs/cgroup"
#define MAX_HIER 16
#define CTL_FD 3
#define READY_TIMEOUT_MS 10000

enum {
	C_MEMORY = 1u << 0,
	C_CPU = 1u << 1,
	C_PIDS = 1u << 2,
	C_CPUSET = 1u << 3,
	C_IO = 1u << 4,
	C_OTHER = 1u << 5, /* cpuacct, freezer: used, no limit */
};

struct hier {
	char name[64];  /* under /sys/fs/cgroup; "" for a v2 root there */
	char opts[256]; /* v1 superoptions without rw/ro */
	bool v2, used, made; /* made: PARENT, by this --setup */
	unsigned ctrls;
	int root, orig, parent, user, sess; /* O_PATH fds, -1 if none */
};

struct floor {
	struct hier h[MAX_HIER];
	size_t n;
	bool v2_root, attached, joined;
	int ns[4]; /* saved cgroup, mnt, ipc, uts namespaces */
	int cwd;
	pid_t child;
	int sock;
	char user[32], sess[32];
};

static const struct {
	const char *file;
	int type;
} ns_names[4] = {
	{ "cgroup", CLONE_NEWCGROUP },
	{ "mnt", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },
};

static int fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report on stderr: the message and, for r < 0, strerror(-r). Returns r. */
static int fail(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("bench-floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (r < 0)
		fprintf(stderr, ": %s", strerror(-r));
	fputc('\n', stderr);
	return r < 0 ? r : -EIO;
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int write_at(int dirfd, const char *file, const char *val)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	return nscg_write_all(fd, val, strlen(val));
}

/* At most len - 1 bytes of a small file, NUL-terminated; the byte count. */
static int read_at(int dirfd, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

static unsigned ctrl_bits(const char *list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "memory", C_MEMORY }, { "cpu", C_CPU },	    { "pids", C_PIDS },
		{ "cpuset", C_CPUSET }, { "blkio", C_IO },	    { "io", C_IO },
		{ "cpuacct", C_OTHER }, { "freezer", C_OTHER },
	};
	unsigned bits = 0;

	while (*list) {
		size_t n = strcspn(list, ", \n");
		for (size_t i = 0; i < ELEMENTSOF(names); i++)
			if (strlen(names[i].name) == n && !strncmp(names[i].name, list, n))
				bits |= names[i].bit;
		list += n;
		list += strspn(list, ", \n");
	}
	return bits;
}

static void floor_init(struct floor *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < MAX_HIER; i++)
		f->h[i].root = f->h[i].orig = f->h[i].parent = f->h[i].user =
			f->h[i].sess = -1;
	for (size_t i = 0; i < 4; i++)
		f->ns[i] = -1;
	f->cwd = f->sock = -1;
	f->child = -1;
}

static void floor_close(struct floor *f)
{
	for (size_t i = 0; i < MAX_HIER; i++) {
		struct hier *h = &f->h[i];
		h->root = nscg_close(h->root);
		h->orig = nscg_close(h->orig);
		h->parent = nscg_close(h->parent);
		h->user = nscg_close(h->user);
		h->sess = nscg_close(h->sess);
	}
	for (size_t i = 0; i < 4; i++)
		f->ns[i] = nscg_close(f->ns[i]);
	f->cwd = nscg_close(f->cwd);
	f->sock = nscg_close(f->sock);
}

/* The cgroup mounts at /sys/fs/cgroup and directly below it, once each. */
static int find_hierarchies(struct floor *f)
{
	_cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	char devs[MAX_HIER][32];
	int r;

	if (fd < 0)
		return fail(-errno, "cannot open /proc/self/mountinfo");
	if ((r = nscg_read_fd(fd, 1 << 20, &buf, NULL)) < 0)
		return fail(r, "cannot read /proc/self/mountinfo");
	for (char *line = buf, *nl; line && *line; line = nl) {
		char *fld[5], *save = NULL, *sep = strstr(line, " - ");
		int nf = 0;
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (!sep)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &save); t && nf < 5; t = strtok_r(NULL, " ", &save))
			fld[nf++] = t;
		save = NULL;
		char *fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save); /* source */
		char *opts = strtok_r(NULL, " ", &save);
		if (nf < 5 || !fstype || !opts ||
		    (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
			continue;
		const char *mnt = fld[4], *name;
		if (!strcmp(mnt, CG))
			name = "";
		else if (!strncmp(mnt, CG "/", sizeof(CG)) && !strchr(mnt + sizeof(CG), '/') &&
			 !strchr(mnt, '\\'))
			name = mnt + sizeof(CG);
		else
			continue;
		bool dup = false;
		for (size_t i = 0; i < f->n; i++)
			dup = dup || !strcmp(devs[i], fld[2]);
		if (dup)
			continue;
		if (f->n == MAX_HIER)
			return fail(-E2BIG, "more than %d cgroup hierarchies", MAX_HIER);
		struct hier *h = &f->h[f->n];
		snprintf(devs[f->n], sizeof(devs[f->n]), "%s", fld[2]);
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->v2 = !strcmp(fstype, "cgroup2");
		/* The superoptions without rw/ro: what a mount must repeat. */
		size_t o = 0;
		for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (strcmp(t, "rw") && strcmp(t, "ro"))
				o += (size_t)snprintf(h->opts + o, sizeof(h->opts) - o, "%s%s",
						      o ? "," : "", t);
		h->root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (h->root < 0)
			return fail(-errno, "cannot open %s", mnt);
		if (h->v2) {
			char c[512];
			if ((r = read_at(h->root, "cgroup.controllers", c, sizeof(c))) < 0)
				return fail(r, "cannot read %s/cgroup.controllers", mnt);
			h->ctrls = ctrl_bits(c);
			h->used = true;
			f->v2_root = f->v2_root || !name[0];
		} else {
			h->ctrls = ctrl_bits(h->opts);
			h->used = h->ctrls != 0;
		}
		f->n++;
	}
	if (f->n == 0)
		return fail(-ENOENT, "no cgroup filesystem under " CG);
	return 0;
}

/* Our cgroup in each used hierarchy, from /proc/self/cgroup: "0::PATH"
 * for v2, a v1 line's controller list is its mount directory's name. */
static int find_own_cgroups(struct floor *f)
{
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	int r;

	if (fd < 0)
		return fail(-errno, "cannot open /proc/self/cgroup");
	if ((r = nscg_read_fd(fd, 1 << 16, &buf, NULL)) < 0)
		return fail(r, "cannot read /proc/self/cgroup");
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		for (size_t i = 0; i < f->n; i++) {
			struct hier *h = &f->h[i];
			if (!h->used || h->orig >= 0 ||
			    (h->v2 ? *ctrls != '\0' : strcmp(ctrls, h->name)))
				continue;
			h->orig = openat(h->root, path[1] ? path + 1 : ".",
					 O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (h->orig < 0)
				return fail(-errno, "cannot open our cgroup %s in %s/%s", path,
					    CG, h->name);
		}
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->h[i].used && f->h[i].orig < 0)
			return fail(-ENOENT, "our cgroup in %s/%s is not in /proc/self/cgroup",
				    CG, f->h[i].name);
	return 0;
}

/* v1 cpuset: a new cgroup has no CPUs and memory nodes until given some. */
static int cpuset_copy(int from, int to)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char val[4096];
	int r;

	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		if ((r = read_at(from, files[i], val, sizeof(val))) < 0 ||
		    (r = write_at(to, files[i], val)) < 0)
			return r;
	return 0;
}

/* v2: the controllers the hierarchy offers, enabled for dirfd's children. */
static int enable_controllers(const struct hier *h, int dirfd)
{
	static const struct {
		const char *name;
		unsigned bit;
	} want[] = { { "memory", C_MEMORY }, { "cpu", C_CPU }, { "cpuset", C_CPUSET },
		     { "pids", C_PIDS }, { "io", C_IO } };
	char line[128];
	size_t o = 0;

	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		if (h->ctrls & want[i].bit)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s+%s", o ? " " : "",
					      want[i].name);
	return o ? write_at(dirfd, "cgroup.subtree_control", line) : 0;
}

/* mkdirat + an O_PATH fd of the new cgroup, its cpuset filled in. */
static int make_cgroup(const struct hier *h, int parent, const char *name, int *out)
{
	int r;

	if (mkdirat(parent, name, 0755) < 0)
		return -errno;
	*out = openat(parent, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*out < 0)
		return -errno;
	if (!h->v2 && (h->ctrls & C_CPUSET) && (r = cpuset_copy(parent, *out)) < 0)
		return r;
	return 0;
}

static int open_parents(struct floor *f, const char *parent)
{
	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		if (!h->used)
			continue;
		h->parent = openat(h->root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (h->parent < 0)
			return fail(-errno, "cannot open %s/%s/%s (run --setup first)", CG,
				    h->name, parent);
	}
	return 0;
}

/* The benchmark policy: user.cpu.max = 200%, session.memory.max = 1G,
 * session.pids.max = 512, written as pam_nscg writes them. */
static int apply_limits(const struct hier *h)
{
	int r = 0;

	if (h->v2) {
		if ((h->ctrls & C_CPU) && (r = write_at(h->user, "cpu.max", "200000 100000")) < 0)
			return fail(r, "cannot write cpu.max");
		if ((h->ctrls & C_MEMORY) && (r = write_at(h->sess, "memory.max", "1073741824")) < 0)
			return fail(r, "cannot write memory.max");
	} else {
		if ((h->ctrls & C_CPU) &&
		    ((r = write_at(h->user, "cpu.cfs_period_us", "100000")) < 0 ||
		     (r = write_at(h->user, "cpu.cfs_quota_us", "200000")) < 0))
			return fail(r, "cannot write the cfs quota in %s/%s", CG, h->name);
		if ((h->ctrls & C_MEMORY) &&
		    (r = write_at(h->sess, "memory.limit_in_bytes", "1073741824")) < 0)
			return fail(r, "cannot write memory.limit_in_bytes");
	}
	if ((h->ctrls & C_PIDS) && (r = write_at(h->sess, "pids.max", "512")) < 0)
		return fail(r, "cannot write pids.max in %s/%s", CG, h->name);
	return 0;
}

static int make_session(struct floor *f)
{
	int r;

	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		if (!h->used)
			continue;
		if ((r = make_cgroup(h, h->parent, f->user, &h->user)) < 0)
			return fail(r, "cannot make the user cgroup in %s/%s", CG, h->name);
		if (h->v2 && (r = enable_controllers(h, h->user)) < 0)
			return fail(r, "cannot enable controllers in %s/%s", CG, h->name);
		if ((r = make_cgroup(h, h->user, f->sess, &h->sess)) < 0)
			return fail(r, "cannot make the session cgroup in %s/%s", CG, h->name);
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->h[i].used && (r = apply_limits(&f->h[i])) < 0)
			return r;
	return 0;
}

static int attach(struct floor *f, bool back)
{
	int r;

	f->attached = !back;
	for (size_t i = 0; i < f->n; i++) {
		const struct hier *h = &f->h[i];
		if (h->used && (r = write_at(back ? h->orig : h->sess, "cgroup.procs", "0")) < 0)
			return fail(r, "cannot move into %s cgroup in %s/%s",
				    back ? "our own" : "the session", CG, h->name);
	}
	return 0;
}

/* Fork and exec ourselves as the helper; join its namespaces once it is
 * ready; let it go and reap it. */
static int enter_namespaces(struct floor *f, char **child_argv)
{
	static char *const envp[] = { NULL };
	int sv[2], r;
	char c;

	for (size_t i = 0; i < 4; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_names[i].file);
		if ((f->ns[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return fail(-errno, "cannot open %s", path);
	}
	if ((f->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(-errno, "cannot open the working directory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail(-errno, "socketpair");
	f->sock = sv[0];
	f->child = fork();
	if (f->child < 0) {
		nscg_close(sv[1]);
		return fail(-errno, "fork");
	}
	if (f->child == 0) {
		if (sv[1] == CTL_FD ? fcntl(CTL_FD, F_SETFD, 0) < 0 : dup2(sv[1], CTL_FD) < 0)
			_exit(127);
		execve("/proc/self/exe", child_argv, envp);
		_exit(127);
	}
	nscg_close(sv[1]);
	struct pollfd p = { .fd = f->sock, .events = POLLIN };
	if ((r = poll(&p, 1, READY_TIMEOUT_MS)) <= 0)
		return fail(r < 0 ? -errno : -ETIMEDOUT, "the child is not ready");
	if (read(f->sock, &c, 1) != 1 || c != 'R')
		return fail(-EIO, "the child failed");
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, f->child, 0);
	if (pidfd < 0)
		return fail(-errno, "pidfd_open");
	if (setns(pidfd, CLONE_NEWCGROUP | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return fail(-errno, "setns into the child's namespaces");
	f->joined = true;
	/* A mount namespace's setns leaves us at its root. */
	if (fchdir(f->cwd) < 0)
		return fail(-errno, "fchdir");
	f->sock = nscg_close(f->sock);
	int st;
	while ((r = (int)waitpid(f->child, &st, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return fail(-errno, "waitpid");
	f->child = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return fail(-EIO, "the child exited with status %d", st);
	return 0;
}

static int leave_namespaces(struct floor *f)
{
	for (size_t i = 0; i < 4; i++)
		if (setns(f->ns[i], ns_names[i].type) < 0)
			return fail(-errno, "setns back to our %s namespace", ns_names[i].file);
	f->joined = false;
	if (fchdir(f->cwd) < 0)
		return fail(-errno, "fchdir");
	return 0;
}

/* rmdir name at dirfd and close *fd, its O_PATH fd; kept on failure, so
 * that undo tries again. */
static int remove_cgroup(int dirfd, const char *name, int *fd, const char *what,
			 const struct hier *h)
{
	if (*fd < 0)
		return 0;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return fail(-errno, "cannot remove the %s cgroup in %s/%s", what, CG, h->name);
	*fd = nscg_close(*fd);
	return 0;
}

static int remove_session(struct floor *f)
{
	int r = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		int q = remove_cgroup(h->user, f->sess, &h->sess, "session", h);
		r = r < 0 ? r : q;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		int q = h->sess >= 0 ? 0 : remove_cgroup(h->parent, f->user, &h->user, "user", h);
		r = r < 0 ? r : q;
	}
	return r;
}

/* What a failed run had done, undone as far as it goes. */
static void undo(struct floor *f)
{
	if (f->child > 0) {
		f->sock = nscg_close(f->sock);
		kill(f->child, SIGKILL);
		while (waitpid(f->child, NULL, 0) < 0 && errno == EINTR)
			;
		f->child = -1;
	}
	if (f->joined)
		(void)leave_namespaces(f);
	if (f->attached)
		(void)attach(f, true);
	(void)remove_session(f);
}

/* The child: nscg-helper's kernel work, in one unshare. argv holds the
 * hierarchies as "v1:NAME:OPTIONS" or "v2:NAME" ("v2:" for a v2 root). */
static int run_child(int argc, char **argv)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char c;

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) < 0)
		return fail(-errno, "child: unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail(-errno, "child: cannot make / a slave");
	/* The policy's private /dev/shm, capped at a quarter of session.memory.max. */
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=268435456") < 0)
		return fail(-errno, "child: cannot mount /dev/shm");
	if (argc == 1 && !strcmp(argv[0], "v2:")) {
		if (umount2(CG, MNT_DETACH) < 0)
			return fail(-errno, "child: cannot unmount " CG);
		if (mount("cgroup2", CG, "cgroup2", flags, NULL) < 0)
			return fail(-errno, "child: cannot mount cgroup2 on " CG);
	} else {
		if (mount("tmpfs", CG, "tmpfs", flags, "mode=755") < 0)
			return fail(-errno, "child: cannot mount a tmpfs on " CG);
		for (int i = 0; i < argc; i++) {
			bool v2 = !strncmp(argv[i], "v2:", 3);
			char *name = argv[i] + 3, *opts = strchr(name, ':'), path[128];
			if (opts)
				*opts++ = '\0';
			snprintf(path, sizeof(path), CG "/%s", name);
			if (mkdir(path, 0555) < 0 && errno != EEXIST)
				return fail(-errno, "child: cannot make %s", path);
			if (v2 ? mount("cgroup2", path, "cgroup2", flags, NULL) :
				 mount("cgroup", path, "cgroup", flags, opts ? opts : ""))
				return fail(-errno, "child: cannot mount %s", path);
			/* Co-mounted controllers: cpu -> cpu,cpuacct. */
			for (const char *p = name; !v2 && strchr(name, ',') && *p;) {
				size_t n = strcspn(p, ",");
				char link[128];
				snprintf(link, sizeof(link), CG "/%.*s", (int)n, p);
				if (symlink(name, link) < 0 && errno != EEXIST)
					return fail(-errno, "child: cannot link %s", link);
				p += n + (p[n] == ',');
			}
		}
		if (mount(NULL, CG, NULL, MS_REMOUNT | MS_RDONLY | flags, "mode=755") < 0)
			return fail(-errno, "child: cannot make " CG " read-only");
	}
	if (nscg_write_all(CTL_FD, "R", 1) < 0)
		return fail(-errno, "child: cannot report");
	/* Until the parent has joined and closed its end. */
	while (read(CTL_FD, &c, 1) > 0)
		;
	return 0;
}

static int remove_parent(struct floor *f, const char *parent, bool only_made)
{
	int r = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		if (!h->used || (only_made && !h->made))
			continue;
		if (unlinkat(h->root, parent, AT_REMOVEDIR) < 0 && errno != ENOENT)
			r = fail(-errno, "cannot remove %s/%s/%s", CG, h->name, parent);
	}
	return r;
}

/* --setup PARENT, once per benchmark run; a failure removes what it made. */
static int setup(struct floor *f, const char *parent)
{
	int r;

	for (size_t i = 0; i < f->n; i++) {
		struct hier *h = &f->h[i];
		if (!h->used)
			continue;
		/* As pam_nscg: v2 controllers enabled above, where missing. */
		char cur[512];
		if (h->v2 && h->ctrls) {
			if ((r = read_at(h->root, "cgroup.subtree_control", cur, sizeof(cur))) < 0)
				return fail(r, "cannot read %s/%s/cgroup.subtree_control", CG, h->name);
			if ((ctrl_bits(cur) & h->ctrls) != h->ctrls &&
			    (r = enable_controllers(h, h->root)) < 0)
				return fail(r, "cannot enable controllers in %s/%s", CG, h->name);
		}
		r = make_cgroup(h, h->root, parent, &h->parent);
		h->made = r != -EEXIST;
		if (r < 0)
			return fail(r, "cannot make %s/%s/%s", CG, h->name, parent);
		if (h->v2 && (r = enable_controllers(h, h->parent)) < 0)
			return fail(r, "cannot enable controllers in %s/%s/%s", CG, h->name, parent);
	}
	return 0;
}

static int run_true(void)
{
	static char *const argv[] = { "true", NULL }, *const envp[] = { NULL };
	long t0 = now_us();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return fail(-errno, "fork");
	if (pid == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fail(-errno, "waitpid");
	long t1 = now_us();
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return fail(-EIO, "/bin/true exited with status %d", st);
	printf("true_us=%ld\n", t1 - t0);
	return 0;
}

static int run_session(struct floor *f, const char *parent)
{
	char *child_argv[MAX_HIER + 3], specs[MAX_HIER][340];
	long t[6];
	int r;

	t[0] = now_us();
	if ((r = find_hierarchies(f)) < 0 || (r = find_own_cgroups(f)) < 0 ||
	    (r = open_parents(f, parent)) < 0)
		return r;
	snprintf(f->user, sizeof(f->user), "user-%d", (int)getpid());
	snprintf(f->sess, sizeof(f->sess), "session-%d", (int)getpid());
	size_t a = 0;
	child_argv[a++] = "bench-floor";
	child_argv[a++] = "--child";
	for (size_t i = 0; i < f->n; i++) {
		const struct hier *h = &f->h[i];
		if (h->v2)
			snprintf(specs[i], sizeof(specs[i]), "v2:%s", h->name);
		else
			snprintf(specs[i], sizeof(specs[i]), "v1:%s:%s", h->name, h->opts);
		child_argv[a++] = specs[i];
	}
	child_argv[a] = NULL;
	t[1] = now_us();
	if ((r = make_session(f)) < 0)
		goto undo;
	t[2] = now_us();
	if ((r = attach(f, false)) < 0)
		goto undo;
	t[3] = now_us();
	if ((r = enter_namespaces(f, child_argv)) < 0)
		goto undo;
	t[4] = now_us();
	if ((r = leave_namespaces(f)) < 0 || (r = attach(f, true)) < 0 ||
	    (r = remove_session(f)) < 0)
		goto undo;
	t[5] = now_us();
	size_t used = 0;
	for (size_t i = 0; i < f->n; i++)
		used += f->h[i].used;
	printf("find_us=%ld mkdir_us=%ld attach_us=%ld ns_us=%ld close_us=%ld total_us=%ld "
	       "used=%zu mounted=%zu\n",
	       t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4], t[5] - t[0],
	       used, f->n);
	return 0;
undo:
	undo(f);
	return r;
}

int main(int argc, char **argv)
{
	struct floor f;
	int r;

	if (argc >= 2 && !strcmp(argv[1], "--child"))
		return run_child(argc - 2, argv + 2) < 0 ? 1 : 0;
	if (argc == 2 && !strcmp(argv[1], "--true"))
		return run_true() < 0 || fflush(stdout) != 0 ? 1 : 0;
	floor_init(&f);
	if (argc == 3 && !strcmp(argv[1], "--setup")) {
		r = find_hierarchies(&f);
		if (r == 0 && (r = setup(&f, argv[2])) < 0)
			(void)remove_parent(&f, argv[2], true);
	} else if (argc == 3 && !strcmp(argv[1], "--remove")) {
		r = find_hierarchies(&f);
		if (r == 0)
			r = remove_parent(&f, argv[2], false);
	} else if (argc == 2 && argv[1][0] != '-') {
		r = run_session(&f, argv[1]);
	} else {
		fprintf(stderr, "usage: bench-floor PARENT | --setup PARENT | --remove PARENT | --true\n");
		return 2;
	}
	floor_close(&f);
	if (r == 0 && fflush(stdout) != 0)
		r = fail(-errno, "cannot write the figures");
	return r < 0 ? 1 : 0;
}
