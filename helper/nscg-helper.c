/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscg-helper: creates the namespaces of a pam_nscg session.
 *
 * pam_nscg.so starts it (not setuid: it runs as the root caller) from
 * the caller's own cgroups, before the login enters the session's, and
 * it stays there, so that nothing of it is ever charged to the user's
 * limits. It keeps only CAP_SYS_ADMIN, sets no_new_privs, unshares the
 * mount, IPC and UTS namespaces, makes "/" a recursive slave and mounts
 * the private /dev/shm, /tmp and /proc the policy asks for, meanwhile the
 * module makes the session's cgroups, moves itself in and makes the
 * cgroup namespace there. Then the helper sets the hostname, joins that
 * cgroup namespace (the module passes it on the socket) and remounts
 * /sys/fs/cgroup as the session sees it: the root of a cgroupfs mount
 * is the mounter's cgroup namespace's, wherever the mounter is. It waits
 * on the control socket (fd 3) until the module has joined its
 * namespaces. The protocol, one line or byte each way: "M" (made) /
 * "C<hostname>" with the cgroup namespace's fd (SCM_RIGHTS), "R"
 * (ready) / "G" (joined, go); an error is "E<errno>:<message>".
 *
 * By hand: --help, --version, and --check, which reports what this host
 * offers. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "ns.h"
#include "util.h"
#include "watch.h"

#ifndef NSCG_VERSION
#define NSCG_VERSION "0"
#endif

#define CGROUP_MOUNT "/sys/fs/cgroup"
#define CTL_FD 3
/* How long the module may take to join before the helper gives up. */
#define RELEASE_TIMEOUT_MS 30000
/* How long the watcher lets the login finish before it looks. */
#define WATCH_SETTLE_MS 50

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nscg-helper --check\n"
		"       nscg-helper --help | --version\n"
		"\n"
		"Creates the cgroup, mount, IPC and UTS namespaces of a pam_nscg\n"
		"session; pam_nscg.so starts it. --check reports what this host\n"
		"offers: its cgroup layout and hierarchies and the kernel features\n"
		"pam_nscg uses.\n");
}

/* Send the module the line "E<errno>:<message>" on the control socket,
 * with ": strerror(-err)" appended for err < 0, and return 1, the
 * helper's exit status: callers end with `return fail(...)`. err is the
 * -errno of the call that failed, or the one that says best what went
 * wrong where there was none (-EPERM for capabilities, -EINVAL for a
 * request the helper cannot carry out). A line that cannot be sent
 * leaves the module a closed socket, which it reports as the helper
 * ending without an answer. */
static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && err < 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(-err));
	char line[600];
	snprintf(line, sizeof(line), "E%d:%s\n", err < 0 ? -err : 0, msg);
	(void)nscg_write_all(CTL_FD, line, strlen(line));
	return 1;
}

/* Detach the mount with ID id where path shows it, through an O_PATH fd
 * of its root: the path is walked once, with no symlink on the way
 * (a directory of a user's on it could be swapped between a look and an
 * unmount by name), and what was checked is what goes. -ENOENT where the
 * path shows another mount (it is covered), or -errno. */
static int detach_at(const char *path, unsigned id)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct statx stx;
	char self[40];

	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != id)
		return -ENOENT;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return umount2(self, MNT_DETACH) < 0 ? -errno : 0;
}

/* Detach, in the session's mount namespace and before anything is
 * mounted there, every host mount the view must not keep
 * (nscg_view_next_host_mount), one at a time and the mount table read
 * again after each, as a detach takes what is mounted below it. One at
 * or below /sys/fs/cgroup (root's directories) that will not go ends it:
 * -errno, its path in where. A cgroupfs elsewhere is detached where its
 * mount point shows it, and passed over where it does not (covered, or
 * stacked below another, looked at again once that has gone). */
static int detach_host_view(char *where, size_t len)
{
	unsigned skip[64], id;
	size_t nskip = 0;
	char path[PATH_MAX];

	snprintf(where, len, "mount table");
	for (unsigned round = 0; round < 4096; round++) {
		_cleanup_free_ char *mi = NULL;
		_cleanup_close_ int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		int r = fd < 0 ? -errno : nscg_read_fd(fd, 4u << 20, &mi, NULL);
		if (r < 0)
			return r;
		r = nscg_view_next_host_mount(mi, skip, nskip, path, sizeof(path), &id);
		if (r <= 0)
			return r;
		bool view = !strncmp(path, CGROUP_MOUNT, strlen(CGROUP_MOUNT)) &&
			    (path[strlen(CGROUP_MOUNT)] == '\0' || path[strlen(CGROUP_MOUNT)] == '/');
		if (view) {
			if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
				snprintf(where, len, "%s", path);
				return -errno;
			}
			nskip = 0;
		} else if (detach_at(path, id) == 0) {
			nskip = 0;
		} else if (nskip < ELEMENTSOF(skip)) {
			skip[nskip++] = id;
		} else {
			return 0; /* more than 64 that will not go: left */
		}
	}
	snprintf(where, len, "%s", CGROUP_MOUNT);
	return -ELOOP;
}

/* The session's view of /sys/fs/cgroup (doc/design.md §4), once the
 * host's mounts there are detached (detach_host_view): the same
 * hierarchies mounted afresh, rooted at the cgroup namespace's root, on
 * a read-only tmpfs for v1 and hybrid hosts; mountinfo then shows one
 * mount per hierarchy, each rooted at "/", as in a container. Where the
 * kernel keeps the host's mounts (locked: a mount namespace a user
 * namespace owns, as in an unprivileged container) the new ones cover
 * them instead. Mount flags as the host's: nosuid,nodev,noexec. */
static int remount_cgroupfs(const struct nscg_host *host)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r;

	for (size_t i = 0; i < host->n && host->layout == NSCG_LAYOUT_V2; i++) {
		const struct nscg_hier *h = &host->h[i];
		if (strcmp(h->mount, CGROUP_MOUNT))
			continue;
		if ((r = h->ops->mount(h, CGROUP_MOUNT, flags)) < 0)
			return fail(r, "cannot mount cgroup2 on %s", CGROUP_MOUNT);
		return 0;
	}
	if (mount("tmpfs", CGROUP_MOUNT, "tmpfs", flags, "mode=755") < 0)
		return fail(-errno, "cannot mount tmpfs on %s", CGROUP_MOUNT);
	for (size_t i = 0; i < host->n; i++) {
		const struct nscg_hier *h = &host->h[i];
		const char *name = h->mount + sizeof(CGROUP_MOUNT);
		char path[300];

		snprintf(path, sizeof(path), "%s/%s", CGROUP_MOUNT, name);
		if (mkdir(path, 0555) < 0 && errno != EEXIST)
			return fail(-errno, "cannot create %s", path);
		if ((r = h->ops->mount(h, path, flags)) < 0)
			return fail(r, "cannot mount %s (%s %s)", path, h->ops->name, h->opts);
		/* Co-mounted controllers get a link each: cpu -> cpu,cpuacct. */
		if (strchr(name, ',')) {
			char one[64];
			for (const char *c = name; *c;) {
				size_t n = strcspn(c, ",");
				if (n < sizeof(one)) {
					snprintf(one, sizeof(one), "%s/%.*s",
						 CGROUP_MOUNT, (int)n, c);
					if (symlink(name, one) < 0 && errno != EEXIST)
						return fail(-errno, "cannot link %s", one);
				}
				c += n + (c[n] == ',');
			}
		}
	}
	if (mount(NULL, CGROUP_MOUNT, NULL, MS_REMOUNT | MS_RDONLY | flags,
		  "mode=755") < 0)
		return fail(-errno, "cannot make %s read-only", CGROUP_MOUNT);
	return 0;
}

/* Effective and permitted sets down to CAP_SYS_ADMIN. The bounding set
 * is left as it is: with no_new_privs and no exec after this, it could
 * never add anything, and dropping it costs a prctl per capability. */
static int keep_only_sys_admin(void)
{
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
			 CAP_SYS_ADMIN) < 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) < 0)
		return -EPERM;
	return 0;
}

/* The session's terminal from PAM_TTY ("/dev/pts/3" or "tty1"), for
 * writing, or -1. Looked at before it is opened (O_PATH opens no
 * driver): only a virtual console (major 4) or a pty (136-143) is, as
 * opening another device may do something (a watchdog, a tape). */
static int open_tty(const char *tty)
{
	char path[PATH_MAX];
	struct stat st;

	if (!tty || !*tty || strstr(tty, ".."))
		return -1;
	snprintf(path, sizeof(path), "%s%s", strncmp(tty, "/dev/", 5) ? "/dev/" : "", tty);
	_cleanup_close_ int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0 || !S_ISCHR(st.st_mode))
		return -1;
	unsigned maj = major(st.st_rdev);
	if (maj != 4 && (maj < 136 || maj > 143))
		return -1;
	char self[40];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	int fd = open(self, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat st2;
	if (fd >= 0 && (fstat(fd, &st2) < 0 || st2.st_rdev != st.st_rdev || !isatty(fd)))
		fd = nscg_close(fd);
	return fd;
}

/* Fork the watcher from here, before the namespaces, so that it stays in
 * the host's; it waits on the pipe for the caller's pid, which comes once
 * the module has joined the session (watch_go), and ends at once if the
 * pipe closes first. Returns the pipe's write end, or -1 (no watcher: the
 * session goes on without one). */
static int start_watcher(const struct nscg_helper_watch *wr)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid > 0) {
		close(pfd[0]);
		return pfd[1];
	}
	/* The watcher: its own session, no control socket, the terminal
	 * opened while it may, OOM-proof, then no capability at all. */
	close(pfd[1]);
	close(CTL_FD);
	(void)setsid();
	prctl(PR_SET_NAME, "nscg-watch", 0, 0, 0);
	struct nscg_watch_opts o = { .uid = wr->uid, .user = wr->user, .notice = wr->notice,
				     .delegate = wr->delegate, .caller_fd = -1,
				     .tty_fd = wr->notice ? open_tty(wr->tty) : -1 };
	int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (adj >= 0) {
		(void)!write(adj, "-1000", 5);
		close(adj);
	}
	/* The group tty, as write(1) has it: the session's terminals are
	 * the user's, mode 0620 group tty, and the watcher keeps no
	 * capability to open them otherwise. */
	/* The group of /dev/ptmx is tty's where udev made it; else ask NSS
	 * (files answer "tty" before any network source). */
	struct stat ptmx;
	struct group *tty;
	if (stat("/dev/ptmx", &ptmx) == 0 && ptmx.st_gid != 0)
		(void)setgroups(1, &ptmx.st_gid);
	else if ((tty = getgrnam("tty")))
		(void)setgroups(1, &tty->gr_gid);
	/* Below the login's own work: it starts while the module opens the
	 * session, and a notice within a second needs little. */
	(void)setpriority(PRIO_PROCESS, 0, 10);
	/* Bounded memory: 64 MiB, or less where the caller's hard limit is. */
	struct rlimit as;
	if (getrlimit(RLIMIT_AS, &as) == 0) {
		if (as.rlim_max > (64u << 20))
			as.rlim_max = 64u << 20;
		as.rlim_cur = as.rlim_max;
		(void)setrlimit(RLIMIT_AS, &as);
	}
	/* Then no capability at all, bounding set included, and made sure. */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(1);
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_BOTH) != CAPNG_NONE)
		_exit(1);
	/* A status client that goes away must not end the watcher. */
	signal(SIGPIPE, SIG_IGN);
	char buf[24] = "";
	struct pollfd p = { .fd = pfd[0], .events = POLLIN };
	/* The helper waits at most RELEASE_TIMEOUT_MS for each of its two
	 * steps; its go comes after both or never. */
	ssize_t n = poll(&p, 1, 2 * RELEASE_TIMEOUT_MS + 5000) == 1 ?
			    read(pfd[0], buf, sizeof(buf) - 1) : -1;
	close(pfd[0]);
	uint64_t caller;
	if (n <= 0 || (buf[n] = '\0', nscg_parse_u64(buf, &caller) < 0) || caller == 0 ||
	    caller > INT32_MAX)
		_exit(0);
	o.caller = (pid_t)caller;
	/* The caller is held at once, before the settle below and the
	 * watcher's first look, however late a loaded machine runs them: a
	 * login that ends meanwhile still ends the watcher, and one that
	 * has ended already (ESRCH) has nothing left to watch. */
	o.caller_fd = (int)syscall(SYS_pidfd_open, o.caller, 0);
	if (o.caller_fd < 0 && errno == ESRCH)
		_exit(0);
	/* Out of the login's way: its last steps, and a close that follows
	 * at once (su -c, cron), go first. Nothing is missed meanwhile: the
	 * session's kills are counted from zero. With delegate the watcher
	 * has the login's first processes to move, at once. */
	const struct timespec settle = { 0, WATCH_SETTLE_MS * 1000000L };
	if (!wr->delegate)
		nanosleep(&settle, NULL);
	_exit(nscg_watch_run(&o));
}

/* The module has joined: the watcher may look at the session. */
static void watch_go(int fd)
{
	char buf[24];

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "%d", (int)getppid());
	(void)nscg_write_all(fd, buf, strlen(buf));
	close(fd);
}

/* A comma-separated list of namespace names; ~0u for an unknown one. */
static unsigned parse_ns(const char *s)
{
	unsigned mask = 0;

	while (*s) {
		size_t n = strcspn(s, ",");
		unsigned bit = nscg_ns_bit(s, n);
		if (!bit)
			return ~0u;
		mask |= bit;
		s += n + (s[n] == ',');
	}
	return mask;
}

/* Wait at most RELEASE_TIMEOUT_MS for the module's next line, which
 * must start with want; its rest (up to len - 1 bytes) goes to arg. A
 * closed socket, a timeout or another line is no go. */
static bool await_module(char want, char *arg, size_t len, int *fd)
{
	char line[128];
	size_t n = 0;

	if (fd)
		*fd = -1;
	while (n == 0 || line[n - 1] != '\n') {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct pollfd p = { .fd = CTL_FD, .events = POLLIN };
		struct iovec iov = { .iov_base = line + n, .iov_len = sizeof(line) - 1 - n };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		if (n + 1 >= sizeof(line) || poll(&p, 1, RELEASE_TIMEOUT_MS) <= 0)
			return false;
		ssize_t got = recvmsg(CTL_FD, &msg, MSG_CMSG_CLOEXEC);
		if (got <= 0)
			return false;
		/* An fd comes with the module's line only where asked for;
		 * any other is closed at once. */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
			    c->cmsg_len != CMSG_LEN(sizeof(int)))
				continue;
			int got_fd;
			memcpy(&got_fd, CMSG_DATA(c), sizeof(got_fd));
			if (fd && *fd < 0)
				*fd = got_fd;
			else
				close(got_fd);
		}
		n += (size_t)got;
		/* "G" is a single byte: the module closes after it. */
		if (want == 'G' && line[0] == 'G')
			return true;
	}
	line[n - 1] = '\0';
	if (line[0] != want || (arg && strlen(line + 1) >= len))
		return false;
	if (arg)
		snprintf(arg, len, "%s", line + 1);
	return true;
}

/* A fresh tmpfs on where, mode 1777, nosuid and nodev as the host's;
 * size bytes, or the kernel's default (half the RAM) for 0. */
static int mount_tmpfs(const char *where, uint64_t size)
{
	char opts[64];

	if (size)
		snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)size);
	else
		snprintf(opts, sizeof(opts), "mode=1777");
	if (mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return fail(-errno, "cannot mount a private tmpfs on %s", where);
	return 0;
}

/* hide_processes: a procfs of the session's own on /proc (doc/design.md
 * §7), showing only the processes the reader may ptrace, and all of
 * them to members of the exempt group. Each mount has options of its
 * own since Linux 5.8; before, a new proc mount shares the host's
 * superblock, and its hidepid would hide the host's processes from
 * logind and polkit too. So it is refused there, and on any kernel the
 * new mount must be a superblock of its own, or it goes again. */
static int mount_proc(const struct nscg_private_mounts *pm)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct utsname un;
	struct stat host, mine;
	char opts[48] = "hidepid=invisible";

	if (uname(&un) < 0)
		return fail(-errno, "cannot read the kernel's release");
	if (!nscg_kernel_at_least(un.release, 5, 8))
		return fail(-EINVAL,
			    "hide_processes needs Linux 5.8 or later, where each procfs mount "
			    "has options of its own; this kernel is %s", un.release);
	if (pm->proc_gid_set)
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",gid=%u",
			 (unsigned)pm->proc_gid);
	if (stat("/proc", &host) < 0)
		return fail(-errno, "cannot look at /proc");
	if (mount("proc", "/proc", "proc", flags, opts) < 0)
		return fail(-errno, "cannot mount a procfs with %s on /proc", opts);
	if (stat("/proc", &mine) < 0 || mine.st_dev == host.st_dev) {
		(void)umount2("/proc", MNT_DETACH);
		return fail(-EINVAL, "the new /proc is the host's: its options would reach the host");
	}
	return 0;
}

/* In two steps. First the new mount, IPC and UTS namespaces (a mount
 * namespace copies the whole mount table) and the private mounts; "M"
 * tells the module. When it has made its cgroup namespace it says "C"
 * with it: the hostname, the cgroup namespace joined and the session's
 * view of cgroupfs; "R", and we stay until the module has joined ("G"). */
static int run_session(unsigned ns, const struct nscg_private_mounts *pm,
		       const struct nscg_helper_watch *wr)
{
	char hostname[HOST_NAME_MAX + 1];
	struct nscg_host host;
	_cleanup_close_ int cgns = -1, watch = -1;
	int flags = 0, r;

	if (fcntl(CTL_FD, F_GETFD) < 0) {
		fprintf(stderr, "nscg-helper: no control socket on fd %d; "
				"this mode is for pam_nscg.so\n", CTL_FD);
		return 2;
	}
	/* A watcher that ended early must not end the helper (watch_go). */
	signal(SIGPIPE, SIG_IGN);
	if (wr->on)
		watch = start_watcher(wr);
	if (keep_only_sys_admin() < 0)
		return fail(-EPERM, "cannot drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(-errno, "cannot set no_new_privs");
	/* Read the host's mounts before the view changes. */
	if ((ns & NSCG_NS_MOUNT) && nscg_host_detect(NULL, &host, NULL) < 0)
		return fail(-ENOENT, "no cgroup filesystem under %s", CGROUP_MOUNT);
	/* The cgroup namespace comes later, rooted in the session cgroup. */
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if ((ns & nscg_ns_kinds[i].bit) && nscg_ns_kinds[i].bit != NSCG_NS_CGROUP)
			flags |= nscg_ns_kinds[i].clone_flag;
	if (flags && unshare(flags) < 0)
		return fail(-errno, "cannot unshare namespaces");
	/* First: an unmount under a shared /sys would reach the host. */
	if ((ns & NSCG_NS_MOUNT) && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return fail(-errno, "cannot make / a slave mount");
	/* The host's cgroup mounts go first, before a private /tmp or /proc
	 * could cover one; the session's view is mounted once the cgroup
	 * namespace has come. Locked ones (EINVAL) are covered then. */
	if ((ns & NSCG_NS_MOUNT) && (ns & NSCG_NS_CGROUP)) {
		char where[PATH_MAX];
		r = detach_host_view(where, sizeof(where));
		if (r < 0 && r != -EINVAL)
			return fail(r, "cannot detach the host's %s", where);
	}
	/* Private /dev/shm and /tmp: their pages go with the session. */
	if ((pm->shm || pm->tmp || pm->hide_pids) && !(ns & NSCG_NS_MOUNT))
		return fail(-EINVAL, "a private /dev/shm, /tmp or /proc needs the mount namespace");
	if (pm->shm && (r = mount_tmpfs("/dev/shm", pm->shm_size)))
		return r;
	if (pm->tmp && (r = mount_tmpfs("/tmp", pm->tmp_size)))
		return r;
	if (pm->hide_pids && (r = mount_proc(pm)))
		return r;
	if (nscg_write_all(CTL_FD, "M\n", 2) < 0 ||
	    !await_module('C', hostname, sizeof(hostname), &cgns))
		return 1;
	if (hostname[0] && !(ns & NSCG_NS_UTS))
		return fail(-EINVAL, "a hostname needs the uts namespace");
	if (hostname[0] && sethostname(hostname, strlen(hostname)) < 0)
		return fail(-errno, "cannot set the hostname to %s", hostname);
	/* The module's cgroup namespace, rooted in the session's cgroups
	 * it made for itself: the helper stays in the caller's own. */
	if ((ns & NSCG_NS_CGROUP) && cgns < 0)
		return fail(-EINVAL, "no cgroup namespace came from the module");
	if ((ns & NSCG_NS_CGROUP) && setns(cgns, CLONE_NEWCGROUP) < 0)
		return fail(-errno, "cannot join the session's cgroup namespace");
	cgns = nscg_close(cgns);
	if (ns & NSCG_NS_MOUNT) {
		/* The cgroup root of a new mount comes from the mounter's
		 * cgroup namespace: without one the host's root would show. */
		if (ns & NSCG_NS_CGROUP) {
			r = remount_cgroupfs(&host);
			if (r)
				return r;
		}
		nscg_host_close(&host);
	}
	if (nscg_write_all(CTL_FD, "R\n", 2) < 0 || !await_module('G', NULL, 0, NULL))
		return 1;
	watch_go(TAKE_FD(watch));
	return 0;
}

static void check_feature(const char *what, bool ok, const char *note)
{
	printf("  %-28s %s%s%s\n", what, ok ? "yes" : "no", note ? "  " : "",
	       note ? note : "");
}

static int run_check(void)
{
	const struct nscg_log log = {
		.emit = nscg_log_stderr, .ctx = "nscg-helper", .max_prio = LOG_INFO,
	};
	struct nscg_host host;
	struct stat st;

	if (nscg_host_detect(NULL, &host, &log) < 0)
		return 1;
	printf("cgroup layout: %s\n", nscg_layout_name(host.layout));
	for (size_t i = 0; i < host.n; i++)
		printf("  %-30s %s  %s%s\n", host.h[i].mount, host.h[i].ops->name,
		       host.h[i].opts,
		       nscg_hier_used(&host.h[i]) ? "" : "  (left alone)");
	printf("kernel features:\n");
	check_feature("cgroup namespace", stat("/proc/self/ns/cgroup", &st) == 0, NULL);
	long pfd = syscall(SYS_pidfd_open, getpid(), 0);
	check_feature("pidfd_open (setns on pidfd)", pfd >= 0,
		      pfd >= 0 ? NULL : "per-namespace setns instead");
	if (pfd >= 0)
		close((int)pfd);
	/* Only non-root cgroups have cgroup.kill: ask the kernel version. */
	struct utsname un = { 0 };
	unsigned major = 0, minor = 0;
	if (uname(&un) == 0)
		sscanf(un.release, "%u.%u", &major, &minor);
	bool has_kill = host.layout != NSCG_LAYOUT_V1 &&
			(major > 5 || (major == 5 && minor >= 14));
	check_feature("cgroup.kill", has_kill,
		      has_kill ? NULL : "freezer and SIGKILL instead");
	bool per_mount_proc = nscg_kernel_at_least(un.release, 5, 8);
	check_feature("procfs options per mount", per_mount_proc,
		      per_mount_proc ? NULL : "hide_processes is refused");
	check_feature("running as root", geteuid() == 0,
		      geteuid() == 0 ? NULL : "sessions need root");
	nscg_host_close(&host);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check", no_argument, NULL, 'c' },
		{ "session", no_argument, NULL, 's' },
		{ "namespaces", required_argument, NULL, 'n' },
		{ "shm", required_argument, NULL, 'S' },
		{ "tmp", required_argument, NULL, 'T' },
		{ "watch", no_argument, NULL, 'w' },
		{ "uid", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'U' },
		{ "tty", required_argument, NULL, 't' },
		{ "no-notice", no_argument, NULL, 'N' },
		{ "hide-processes", no_argument, NULL, 'P' },
		{ "proc-gid", required_argument, NULL, 'g' },
		{ "delegate", no_argument, NULL, 'D' },
		{ 0 },
	};
	unsigned ns = NSCG_NS_ALL;
	struct nscg_private_mounts pm = { 0 };
	struct nscg_helper_watch wr = { .user = "?", .notice = true };
	uint64_t uid = UINT64_MAX;
	int c, mode = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nscg-helper %s\n", NSCG_VERSION);
			return 0;
		case 'c':
		case 's':
			mode = c;
			break;
		case 'n':
			ns = parse_ns(optarg);
			if (ns == ~0u) {
				fprintf(stderr, "nscg-helper: bad --namespaces '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
		case 'T':
			if (nscg_parse_u64(optarg, c == 'S' ? &pm.shm_size : &pm.tmp_size) < 0) {
				fprintf(stderr, "nscg-helper: bad size '%s'\n", optarg);
				return 2;
			}
			*(c == 'S' ? &pm.shm : &pm.tmp) = true;
			break;
		case 'w':
			wr.on = true;
			break;
		case 'u':
			if (nscg_parse_u64(optarg, &uid) < 0 || uid >= UINT32_MAX) {
				fprintf(stderr, "nscg-helper: bad uid '%s'\n", optarg);
				return 2;
			}
			wr.uid = (uid_t)uid;
			break;
		case 'U':
			wr.user = optarg;
			break;
		case 't':
			wr.tty = optarg;
			break;
		case 'N':
			wr.notice = false;
			break;
		case 'P':
			pm.hide_pids = true;
			break;
		case 'D':
			wr.delegate = true;
			break;
		case 'g': {
			uint64_t gid;
			if (nscg_parse_u64(optarg, &gid) < 0 || gid >= UINT32_MAX) {
				fprintf(stderr, "nscg-helper: bad gid '%s'\n", optarg);
				return 2;
			}
			pm.proc_gid = (gid_t)gid;
			pm.proc_gid_set = true;
			break;
		}
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !mode || (wr.on && uid == UINT64_MAX)) {
		usage(stderr);
		return 2;
	}
	return mode == 'c' ? run_check() : run_session(ns, &pm, &wr);
}
