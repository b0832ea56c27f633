/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ns.h"

#include "cgroup.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const struct nscg_ns_kind nscg_ns_kinds[NSCG_NS_COUNT] = {
	{ "cgroup", "cgroup", NSCG_NS_CGROUP, CLONE_NEWCGROUP },
	{ "mount", "mnt", NSCG_NS_MOUNT, CLONE_NEWNS },
	{ "ipc", "ipc", NSCG_NS_IPC, CLONE_NEWIPC },
	{ "uts", "uts", NSCG_NS_UTS, CLONE_NEWUTS },
};

unsigned nscg_ns_bit(const char *name, size_t n)
{
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if (strlen(nscg_ns_kinds[i].name) == n && !strncmp(name, nscg_ns_kinds[i].name, n))
			return nscg_ns_kinds[i].bit;
	return 0;
}

/* Open the four namespaces of pid (0: this process) into s->fd; -errno,
 * and s closed, if any is closed to us. */
static int open_ns_of(pid_t pid, struct nscg_ns_saved *s)
{
	char path[64];

	for (size_t i = 0; i < NSCG_NS_COUNT; i++) {
		if (pid)
			snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, nscg_ns_kinds[i].proc);
		else
			snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", nscg_ns_kinds[i].proc);
		s->fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd[i] < 0) {
			int r = -errno;
			nscg_ns_close(s);
			return r;
		}
	}
	return 0;
}

int nscg_ns_save(struct nscg_ns_saved *s)
{
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		s->fd[i] = -1;
	s->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!getcwd(s->cwd_path, sizeof(s->cwd_path)))
		snprintf(s->cwd_path, sizeof(s->cwd_path), "/");
	return open_ns_of(0, s);
}

int nscg_ns_saved_fd(const struct nscg_ns_saved *s, unsigned bit)
{
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if (nscg_ns_kinds[i].bit == bit)
			return s->fd[i];
	return -1;
}

void nscg_ns_close(struct nscg_ns_saved *s)
{
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		s->fd[i] = nscg_close(s->fd[i]);
	s->cwd = nscg_close(s->cwd);
}

int nscg_ns_restore(const struct nscg_ns_saved *s, unsigned mask)
{
	int ret = 0;

	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if ((mask & nscg_ns_kinds[i].bit) &&
		    setns(s->fd[i], nscg_ns_kinds[i].clone_flag) < 0 && ret == 0)
			ret = -errno;
	/* Joining a mount namespace resets cwd and root: back to the saved
	 * directory, or (no fd saved) to the same path there, or "/". */
	if ((mask & NSCG_NS_MOUNT) && s->cwd >= 0 && fchdir(s->cwd) < 0 && ret == 0)
		ret = -errno;
	if ((mask & NSCG_NS_MOUNT) && s->cwd < 0 && chdir(s->cwd_path) < 0 && chdir("/") < 0 &&
	    ret == 0)
		ret = -errno;
	return ret;
}


/* The parent of pid, or 0. */
static pid_t parent_of(pid_t pid)
{
	pid_t ppid;

	return nscg_proc_stat(pid, NULL, &ppid, NULL) < 0 ? 0 : ppid;
}

int nscg_ns_open_host(struct nscg_ns_saved *host)
{
	struct stat st;

	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		host->fd[i] = -1;
	host->cwd = -1;
	if (!getcwd(host->cwd_path, sizeof(host->cwd_path)))
		snprintf(host->cwd_path, sizeof(host->cwd_path), "/");
	if (open_ns_of(1, host) == 0)
		return 0;
	for (pid_t p = getppid(); p > 1; p = parent_of(p)) {
		if (open_ns_of(p, host) < 0)
			continue;
		if (fstat(host->fd[0], &st) == 0 && st.st_ino == NSCG_CGROUP_INIT_INO)
			return 0;
		nscg_ns_close(host);
	}
	return -ENOENT;
}

/* Whoever can replace an entry of a directory can replace the helper:
 * every directory on the way must be root's and not writable by others,
 * unless sticky (like /tmp, where only an entry's owner may replace it). */
static bool dir_trusted(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 &&
	       (!(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX));
}

int nscg_helper_open(const char *path, const struct nscg_log *log)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char comp[256];

	if (path[0] != '/')
		return nscg_log_errno(log, LOG_ERR, -EINVAL,
				      "the helper path %s is not absolute", path);
	/* Walk from / one component at a time, never following a link. */
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (const char *c = path; fd >= 0;) {
		c += strspn(c, "/");
		size_t n = strcspn(c, "/");
		if (fstat(fd, &st) < 0)
			break;
		if (!S_ISDIR(st.st_mode))
			break; /* a file in the middle: ENOTDIR below */
		if (!dir_trusted(&st)) {
			nscg_log(log, LOG_ERR,
				 "refusing the helper %s: a directory on its path is writable by others than root (uid %u, mode %04o)",
				 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
		if (n == 0 || n >= sizeof(comp)) {
			errno = n ? ENAMETOOLONG : EISDIR;
			return nscg_log_errno(log, LOG_ERR, -errno,
					      "cannot open the helper %s", path);
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		c += n;
		bool last = c[strspn(c, "/")] == '\0';
		int next = openat(fd, comp, O_PATH | O_CLOEXEC | O_NOFOLLOW |
						    (last ? 0 : O_DIRECTORY));
		nscg_close(fd);
		fd = next;
		if (last)
			break;
	}
	if (fd < 0)
		return nscg_log_errno(log, LOG_ERR, -errno,
				      "cannot open the helper %s", path);
	if (fstat(fd, &st) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot stat %s", path);
	/* It runs as root with CAP_SYS_ADMIN: only root may control it. */
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || !(st.st_mode & S_IXUSR) ||
	    (st.st_mode & (S_ISUID | S_ISGID))) {
		nscg_log(log, LOG_ERR,
			 "refusing the helper %s: it must be a regular executable file owned by root, not writable by group or others, not setuid (uid %u, mode %04o)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return TAKE_FD(fd);
}


/* Reap pid within timeout_ms, killing it if it does not exit. Waits on
 * a pidfd where the kernel has them (>= 5.3), else polls every ms. */
static int reap(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool killed = false;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			nscg_close(pfd);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (r < 0 && errno != EINTR) {
			r = -errno;
			nscg_close(pfd);
			return r;
		}
		uint64_t now = nscg_now_ms();
		if (now >= deadline) {
			if (killed) {
				/* Stuck in the kernel (D state): give up on
				 * it rather than hang the login. */
				nscg_close(pfd);
				return -ETIMEDOUT;
			}
			kill(pid, SIGKILL);
			killed = true;
			deadline = now + 1000;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			(void)poll(&p, 1, (int)(deadline - now));
		} else {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
}

/* In the child: the control socket on fd 3, nothing else open, default
 * signals, empty environment; then exec through the checked fd. */
static void exec_helper(int helper_fd, int sock, unsigned mask,
			const struct nscg_private_mounts *pm, const struct nscg_helper_watch *w)
{
	char ns[64] = "", shm[24], tmp[24], gid[16], uid[16], *argv[24];
	size_t o = 0;
	int argc = 0;
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* Out of the invoker's reach: su opens the session before it takes
	 * the target's real uid, and whoever's real uid a process has may
	 * signal it. So root's real and saved ids, no groups of the
	 * invoker's, the host's own limits (PID 1's: not an EMFILE or a
	 * tiny RLIMIT_AS the invoker chose) and umask 022, whatever the
	 * caller had; the watcher inherits them. */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(127);
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		enum __rlimit_resource r = (enum __rlimit_resource)res;
		struct rlimit rl, cur;
		if (prlimit(1, r, NULL, &rl) < 0 || setrlimit(r, &rl) == 0 || getrlimit(r, &cur) < 0)
			continue;
		/* A hard limit is raised only with CAP_SYS_RESOURCE, which
		 * some hosts keep from root: the soft one, then, as far as
		 * the hard one goes. */
		rl.rlim_max = cur.rlim_max;
		if (rl.rlim_cur > cur.rlim_max)
			rl.rlim_cur = cur.rlim_max;
		(void)setrlimit(r, &rl);
	}
	umask(022);
	/* First move the exec fd clear of 0..3, which are about to be
	 * overwritten: it may well be 3 itself. */
	if (helper_fd < 10) {
		int nfd = fcntl(helper_fd, F_DUPFD_CLOEXEC, 10);
		if (nfd < 0)
			_exit(127);
		helper_fd = nfd;
	}
	if (sock != 3) {
		if (dup2(sock, 3) < 0)
			_exit(127);
	} else if (fcntl(3, F_SETFD, 0) < 0) {
		_exit(127);
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++) {
		if (devnull < 0)
			_exit(127);
		/* dup2 onto itself would keep close-on-exec. */
		if (devnull == fd ? fcntl(fd, F_SETFD, 0) < 0 : dup2(devnull, fd) < 0)
			_exit(127);
	}
	/* Everything above 3 but the exec fd is closed on exec already
	 * if the caller was careful; close the rest of it explicitly. */
	syscall(SYS_close_range, 4, helper_fd - 1, 0);
	syscall(SYS_close_range, helper_fd + 1, ~0u, 0);
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if (mask & nscg_ns_kinds[i].bit)
			o += (size_t)snprintf(ns + o, sizeof(ns) - o, "%s%s",
					      o ? "," : "",
					      nscg_ns_kinds[i].name);
	argv[argc++] = "nscg-helper";
	argv[argc++] = "--session";
	argv[argc++] = "--namespaces";
	argv[argc++] = ns;
	if (pm && pm->shm) {
		snprintf(shm, sizeof(shm), "%llu", (unsigned long long)pm->shm_size);
		argv[argc++] = "--shm";
		argv[argc++] = shm;
	}
	if (pm && pm->tmp) {
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)pm->tmp_size);
		argv[argc++] = "--tmp";
		argv[argc++] = tmp;
	}
	if (pm && pm->hide_pids)
		argv[argc++] = "--hide-processes";
	if (pm && pm->hide_pids && pm->proc_gid_set) {
		snprintf(gid, sizeof(gid), "%u", (unsigned)pm->proc_gid);
		argv[argc++] = "--proc-gid";
		argv[argc++] = gid;
	}
	if (w && w->on) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)w->uid);
		argv[argc++] = "--watch";
		argv[argc++] = "--uid";
		argv[argc++] = uid;
		argv[argc++] = "--user";
		argv[argc++] = (char *)w->user;
		if (w->tty && *w->tty) {
			argv[argc++] = "--tty";
			argv[argc++] = (char *)w->tty;
		}
		if (!w->notice)
			argv[argc++] = "--no-notice";
		if (w->delegate)
			argv[argc++] = "--delegate";
	}
	argv[argc] = NULL;
	char *envp[] = { NULL };
	syscall(SYS_execveat, helper_fd, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/* setns into pid's namespaces of mask: all at once through a pidfd on
 * Linux >= 5.8, else one /proc/PID/ns fd at a time. */
static int join(pid_t pid, unsigned mask)
{
	int flags = 0;

	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		if (mask & nscg_ns_kinds[i].bit)
			flags |= nscg_ns_kinds[i].clone_flag;
	if (!flags)
		return 0;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		int r = setns(pfd, flags) < 0 ? -errno : 0;
		nscg_close(pfd);
		if (r != -EINVAL)
			return r;
		/* EINVAL: a kernel without setns on pidfds. */
	}
	int fds[4] = { -1, -1, -1, -1 }, r = 0;
	char path[64];
	for (size_t i = 0; i < NSCG_NS_COUNT && r == 0; i++) {
		if (!(mask & nscg_ns_kinds[i].bit))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid,
			 nscg_ns_kinds[i].proc);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			r = -errno;
	}
	for (size_t i = 0; i < NSCG_NS_COUNT && r == 0; i++)
		if (fds[i] >= 0 && setns(fds[i], nscg_ns_kinds[i].clone_flag) < 0)
			r = -errno;
	for (size_t i = 0; i < NSCG_NS_COUNT; i++)
		nscg_close(fds[i]);
	return r;
}

/* After joining: every namespace of mask differs from the saved one. */
static bool all_new(const struct nscg_ns_saved *saved, unsigned mask)
{
	for (size_t i = 0; i < NSCG_NS_COUNT; i++) {
		struct stat old, now;
		char path[48];
		if (!(mask & nscg_ns_kinds[i].bit))
			continue;
		snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", nscg_ns_kinds[i].proc);
		if (fstat(saved->fd[i], &old) < 0 || stat(path, &now) < 0 ||
		    (old.st_ino == now.st_ino && old.st_dev == now.st_dev))
			return false;
	}
	return true;
}

/* Wait at most timeout_ms for the helper's next line: want ('M' or 'R')
 * gives 0; "E<errno>:<message>" is logged and gives -errno (-EIO when
 * it named none); a closed socket (a crash, a failed exec) gives -EIO. */
static int await(struct nscg_helper *h, char want, unsigned timeout_ms,
		 const struct nscg_log *log)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	char msg[600];
	size_t n = 0;

	msg[0] = '\0';
	while (!memchr(msg, '\n', n) && n + 1 < sizeof(msg)) {
		uint64_t now = nscg_now_ms();
		struct pollfd p = { .fd = h->sock, .events = POLLIN };
		if (now >= deadline) {
			nscg_log(log, LOG_ERR, "the helper did not answer within %u ms",
				 timeout_ms);
			return -ETIMEDOUT;
		}
		int pr = poll(&p, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		ssize_t got = pr > 0 ? read(h->sock, msg + n, sizeof(msg) - 1 - n) : 0;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 && pr != 0)
			break; /* closed: crashed or exec failed */
		if (got > 0)
			n += (size_t)got;
		msg[n] = '\0';
	}
	msg[strcspn(msg, "\n")] = '\0';
	if (msg[0] == want)
		return 0;
	if (msg[0] == 'E') {
		char *text;
		long err = strtol(msg + 1, &text, 10);
		text += *text == ':';
		nscg_log(log, LOG_ERR, "nscg-helper: %s", text);
		return err > 0 && err < 4096 ? -(int)err : -EIO;
	}
	int st = reap(h->pid, 1000);
	h->pid = -1;
	nscg_log(log, LOG_ERR, "nscg-helper ended without an answer (%s %d)",
		 st >= 128 ? "signal" : "exit status", st >= 128 ? st - 128 : st);
	return -EIO;
}

/* Put SIGCHLD back as the caller had it. */
static void restore_sigchld(struct nscg_helper *h)
{
	if (h->swapped)
		sigaction(SIGCHLD, &h->old_chld, NULL);
	sigprocmask(SIG_SETMASK, &h->old_mask, NULL);
}

void nscg_helper_abort(struct nscg_helper *h)
{
	if (h->sock < 0 && h->pid <= 0)
		return;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		reap(h->pid, 2000);
	}
	h->pid = -1;
	h->sock = nscg_close(h->sock);
	restore_sigchld(h);
}

int nscg_helper_spawn(int helper_fd, unsigned mask, const struct nscg_private_mounts *pm,
		      const struct nscg_helper_watch *w, struct nscg_helper *h,
		      const struct nscg_log *log)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t chld;
	int sv[2], r;

	h->pid = -1;
	h->sock = -1;
	h->swapped = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "socketpair");
	/* SIGCHLD is blocked until the helper is reaped, so the caller's own
	 * handler still gets it afterwards for its other children. A caller
	 * that ignores it (or sets SA_NOCLDWAIT) would have the helper
	 * reaped behind our back: only then the default action is put in
	 * place. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &h->old_mask);
	sigaction(SIGCHLD, NULL, &h->old_chld);
	h->swapped = h->old_chld.sa_handler == SIG_IGN ||
		     (h->old_chld.sa_flags & SA_NOCLDWAIT);
	if (h->swapped)
		sigaction(SIGCHLD, &dfl, NULL);
	h->sock = sv[0];
	h->pid = fork();
	if (h->pid == 0) {
		nscg_close(sv[0]);
		exec_helper(helper_fd, sv[1], mask, pm, w);
	}
	nscg_close(sv[1]);
	if (h->pid < 0) {
		r = nscg_log_errno(log, LOG_ERR, -errno, "cannot fork the helper");
		nscg_helper_abort(h);
		return r;
	}
	return 0;
}

/* Send "C<hostname>\n" with the cgroup namespace at nsfd (-1: none)
 * attached. MSG_NOSIGNAL: a helper that died must not SIGPIPE the caller. */
static int send_moved(int sock, const char *hostname, int nsfd)
{
	char line[80];
	int n = snprintf(line, sizeof(line), "C%s\n", hostname ? hostname : "");
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = line, .iov_len = (size_t)n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	if (nsfd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &nsfd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == n ? 0 : -errno;
}

/* The caller, in the cgroup namespace it made, moves to the cgroup
 * leave_to, outside the namespace's root: across that root only from
 * outside (nsdelegate), so there and back again. */
static int leave_ns_root(const struct nscg_ns_saved *saved, int nsfd, int leave_to,
			 const struct nscg_log *log)
{
	int host = nscg_ns_saved_fd(saved, NSCG_NS_CGROUP), r;

	if (host < 0 || setns(host, CLONE_NEWCGROUP) < 0)
		return nscg_log_errno(log, LOG_ERR, host < 0 ? -EBADF : -errno,
				      "cannot return to the caller's cgroup namespace");
	r = nscg_write_at(leave_to, "cgroup.procs", "0");
	if (setns(nsfd, CLONE_NEWCGROUP) < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot rejoin the session's cgroup namespace");
	return r < 0 ? nscg_log_errno(log, LOG_ERR, r, "cannot leave the cgroup namespace's root") : 0;
}

int nscg_ns_enter_session(struct nscg_helper *h, unsigned mask, const char *hostname,
			  const struct nscg_ns_saved *saved, int leave_to, unsigned timeout_ms,
			  const struct nscg_log *log)
{
	_cleanup_close_ int nsfd = -1;
	int r;

	/* The cgroup namespace is the caller's own, rooted in the cgroups
	 * it is in now; the helper joins it to mount the session's view.
	 * The helper itself never enters the session's cgroups. */
	if (mask & NSCG_NS_CGROUP) {
		if (unshare(CLONE_NEWCGROUP) < 0) {
			r = nscg_log_errno(log, LOG_ERR, -errno, "cannot make the cgroup namespace");
			goto fail;
		}
		nsfd = open("/proc/thread-self/ns/cgroup", O_RDONLY | O_CLOEXEC);
		if (nsfd < 0) {
			r = nscg_log_errno(log, LOG_ERR, -errno, "cannot open the cgroup namespace");
			goto undo;
		}
		if (leave_to >= 0 && (r = leave_ns_root(saved, nsfd, leave_to, log)) < 0)
			goto undo;
	}
	/* "M": the helper has made the other namespaces, in the caller's
	 * cgroups as they were at the fork. Then "C<hostname>" (a session's
	 * name is only known by now) with the cgroup namespace, and "R":
	 * cgroupfs is mounted as the session sees it. */
	if ((r = await(h, 'M', timeout_ms, log)) < 0)
		goto undo;
	if ((r = send_moved(h->sock, hostname, nsfd)) < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot reach the helper");
		goto undo;
	}
	if ((r = await(h, 'R', timeout_ms, log)) < 0)
		goto undo;
	r = join(h->pid, mask & ~NSCG_NS_CGROUP);
	if (r == 0 && !all_new(saved, mask))
		r = -ESRCH; /* joined, but nothing new: no sandbox at all */
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot join the session namespaces");
		goto undo;
	}
	/* By name: the saved fd would lead back into the host's mount tree,
	 * and so would everything the caller forks from here. */
	if ((mask & NSCG_NS_MOUNT) && chdir(saved->cwd_path) < 0 && chdir("/") < 0)
		nscg_log_errno(log, LOG_WARNING, -errno, "cannot set the working directory");
	(void)send(h->sock, "G", 1, MSG_NOSIGNAL);
	h->sock = nscg_close(h->sock);
	r = reap(h->pid, timeout_ms);
	h->pid = -1;
	restore_sigchld(h);
	if (r != 0) {
		nscg_log(log, LOG_ERR, "nscg-helper failed after joining (%d)", r);
		(void)nscg_ns_restore(saved, mask);
		return -EIO;
	}
	return 0;
undo:
	/* A partial join is undone: the caller keeps its own namespaces. */
	(void)nscg_ns_restore(saved, mask);
fail:
	nscg_helper_abort(h);
	return r;
}
