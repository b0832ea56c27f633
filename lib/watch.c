/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "watch.h"

#include "cgroup.h"
#include "delegate.h"
#include "record.h"
#include "status.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* How long a status client may take to ask and to read the answer. */
#define CLIENT_TIMEOUT_MS 1000
/* How long nscgctl waits for an answer. */
#define ASK_TIMEOUT_MS 5000
/* Between two notices on the terminal, at least this long. */
#define NOTICE_INTERVAL_MS 1000
/* How often the watcher looks whether its session still has a process,
 * where no cgroup.events tells it (a pure v1 host). */
#define CHECK_INTERVAL_MS 30000
/* The same for a watcher in the session's own cgroup (a logind scope),
 * which no cgroup.events tells when it is the last one left. */
#define INSIDE_CHECK_INTERVAL_MS 5000

/* What the memory controller counts, read at one moment. */
struct counts {
	uint64_t kills; /* processes of the session the OOM killer ended */
	uint64_t sess_hits, user_hits; /* the session's and the user's limit reached */
};

/* Events counted in a one-second window. */
struct window {
	uint64_t start_ms;
	unsigned n;
};

/* Count one more in wd; at max, stop listening until the window ends. */
static void count_in_window(struct window *wd, unsigned max, uint64_t *deaf_until_ms)
{
	uint64_t now = nscg_now_ms();

	if (now >= wd->start_ms + 1000)
		*wd = (struct window){ .start_ms = now };
	if (++wd->n >= max)
		*deaf_until_ms = wd->start_ms + 1000;
}

struct watcher {
	const struct nscg_watch_opts *o;
	struct nscg_host host;
	struct nscg_cgroup sess, user;
	char name[48]; /* the session's cgroup's name */
	int mem_hier; /* the hierarchy with the memory controller, or -1 */
	bool mem_v2; /* memory.events (v2), else memory.oom_control (v1) */
	bool user_local; /* the user cgroup has memory.events.local */
	bool inside; /* the watcher is in the session's cgroup itself (a logind scope) */
	int mem_fd; /* memory.events, or the eventfd of v1's OOM notifications */
	int events_fd; /* cgroup.events (v2), -1 on a pure v1 host */
	int listen_fd;
	struct counts seen; /* as of the last notice */
	uint64_t pending; /* kills not told yet */
	uint64_t last_notice_ms;
	uint64_t look_until_ms; /* after an OOM event, look again until then */
	struct window refusals, requests; /* see serve() */
	uint64_t deaf_until_ms; /* the socket not listened to until then */
	int caller_fd; /* a pidfd of the caller: the login ends with it */
	uint64_t mem_quiet_until_ms; /* memory events not looked at until then */
	/* delegate: NAME/caller, and NAME/user/login's cgroup.procs */
	int herd_from, herd_to;
	uint64_t start_ms, herd_next_ms;
	bool herd_failed; /* said once */
};

/* Requests of the session's user served in a second. */
#define REQUESTS_PER_S 5
/* After a memory event, the next are not looked at for this long:
 * memory.high alone can raise a hundred a second. */
#define MEM_QUIET_MS 100

/* Connections of other users refused in a second before the watcher
 * stops listening for the rest of it. */
#define REFUSALS_PER_S 50

/* After a memory event the counts are looked at again this often, until
 * the kill is seen, for at most so long: v1 signals an OOM when it
 * starts, before the kill, which a starved machine can put off for
 * seconds; v2 signals the kill itself, and memory.high can signal a
 * hundred times a second. */
#define LOOK_AGAIN_MS 100
#define LOOK_FOR_V1_MS 30000
#define LOOK_FOR_V2_MS 2000

/* A count, or was where it cannot be read now (see cgroup_gone): a
 * failed read never looks like a change. */
static uint64_t keyed(int dirfd, const char *file, const char *key, uint64_t was)
{
	uint64_t v;

	return nscg_read_keyed(dirfd, file, key, &v) == 0 ? v : was;
}

static uint64_t number(int dirfd, const char *file, uint64_t was)
{
	uint64_t v;

	return nscg_read_u64_at(dirfd, file, &v) == 0 ? v : was;
}

/* v2 counts each time a limit was reached ("oom" in memory.events); v1
 * only how often a charge failed at the limit (memory.failcnt, and
 * memory.memsw.failcnt for memory and swap together), which comes before
 * every OOM kill there. */
static void read_counts(const struct watcher *w, struct counts *c)
{
	int s = w->sess.fd[w->mem_hier], u = w->user.fd[w->mem_hier];
	const struct counts *was = &w->seen;

	if (w->mem_v2) {
		c->kills = keyed(s, "memory.events", "oom_kill", was->kills);
		c->sess_hits = keyed(s, "memory.events", "oom", was->sess_hits);
		/* The user cgroup's own limit: .local leaves out the OOMs of
		 * the sessions' own limits (Linux 5.7; else all of them). */
		c->user_hits = u < 0 ? 0 :
			       keyed(u, w->user_local ? "memory.events.local" : "memory.events", "oom",
				     was->user_hits);
	} else {
		/* A memsw limit (session.memory.swap.max) is hit in its own
		 * counter; a sum is read whole or not at all. */
		uint64_t a = number(s, "memory.failcnt", UINT64_MAX);
		uint64_t b = number(s, "memory.memsw.failcnt", 0);
		c->kills = keyed(s, "memory.oom_control", "oom_kill", was->kills);
		c->sess_hits = a == UINT64_MAX ? was->sess_hits : a + b;
		a = u < 0 ? 0 : number(u, "memory.failcnt", UINT64_MAX);
		b = u < 0 ? 0 : number(u, "memory.memsw.failcnt", 0);
		c->user_hits = a == UINT64_MAX ? was->user_hits : a + b;
	}
}

/* The session's cgroup as the caller's /proc/PID/cgroup shows it: its
 * name, and that it is a session of our uid with a record. */
static int find_session(struct watcher *w)
{
	struct nscg_record rec;
	_cleanup_free_ char *buf = NULL;
	const char *ctrls, *path = NULL, *p;
	int r;

	if ((r = nscg_proc_cgroup_read(w->o->caller, &buf)) < 0)
		return r;
	/* The unified line's path where there is one; else the longest in a
	 * hierarchy pam_nscg uses (not name=systemd's): systemd puts a scope
	 * into some v1 hierarchies only, and leaves the rest at "/". */
	for (char *cur = buf; nscg_proc_cgroup_next(&cur, &ctrls, &p);) {
		if (!*ctrls) {
			path = p;
			break;
		}
		for (size_t i = 0; i < w->host.n; i++)
			if (nscg_hier_used(&w->host.h[i]) &&
			    w->host.h[i].ops->owns_line(&w->host.h[i], ctrls) &&
			    (!path || strlen(p) > strlen(path)))
				path = p;
	}
	/* delegate: the caller is in the session's NAME/caller. */
	size_t plen = path ? strlen(path) : 0, clen = strlen("/" NSCG_DELEGATE_CALLER);
	if (w->o->delegate &&
	    (plen <= clen || strcmp(path + plen - clen, "/" NSCG_DELEGATE_CALLER)))
		return -ENOENT;
	if (w->o->delegate)
		plen -= clen;
	const char *base = path ? memrchr(path, '/', plen) : NULL;
	if (!base || (size_t)(path + plen - base - 1) >= sizeof(w->name))
		return -ENOENT;
	snprintf(w->name, sizeof(w->name), "%.*s", (int)(path + plen - base - 1), base + 1);
	if (nscg_record_read(w->o->uid, w->name, &rec) < 0 ||
	    strlen(rec.cgroup) != plen - 1 || strncmp(rec.cgroup, path + 1, plen - 1))
		return -ENOENT; /* not (or no longer) the session */
	if ((r = nscg_cgroup_open_of(&w->host, w->o->caller,
				     w->o->delegate ? NSCG_DELEGATE_CALLER : w->name, &w->sess)) < 0)
		return r;
	for (size_t i = 0; i < w->host.n; i++) {
		if (w->sess.fd[i] < 0)
			continue;
		if (w->o->delegate) {
			/* The unified hierarchy alone (delegate.h). */
			w->herd_from = w->sess.fd[i];
			w->sess.fd[i] = openat(w->herd_from, "..",
					       O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			w->herd_to = w->sess.fd[i] < 0 ? -1 :
				openat(w->sess.fd[i],
				       NSCG_DELEGATE_USER "/" NSCG_DELEGATE_LOGIN "/cgroup.procs",
				       O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			if (w->herd_to < 0)
				return -errno;
		}
		w->user.fd[i] = openat(w->sess.fd[i], "..",
				       O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	return 0;
}

/* Whether every uid of process pid (real, effective, saved, file
 * system) is uid and it has no effective capability: a process of the
 * user's, no longer root's on its way to being theirs. */
static bool owned_by(const char *pid, uid_t uid)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	size_t n = 0;
	ssize_t got;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	while (n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	const char *l = strstr(buf, "\nUid:"), *c = strstr(buf, "\nCapEff:");
	unsigned r, e, sv, fs;
	unsigned long long caps;
	return l && c && sscanf(l + 5, "%u %u %u %u", &r, &e, &sv, &fs) == 4 && r == uid &&
	       e == uid && sv == uid && fs == uid && sscanf(c + 8, "%llx", &caps) == 1 && caps == 0;
}

/* Whether the process of pidfd has ended (its pid may be another's). */
static bool ended(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/* delegate: move the user's processes the caller forked in NAME/caller
 * (the shell, sshd's session child) to NAME/user/login, where the user
 * may manage them; the caller and what is still root's stay. Looked at
 * often while the login starts, then less (watch.h). */
static void herd(struct watcher *w, uint64_t now)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	uint64_t age = now - w->start_ms;
	w->herd_next_ms = now + (age < 2000 ? 10 : age < 60000 ? 100 : 500);
	_cleanup_close_ int fd = openat(w->herd_from, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || nscg_read_fd(fd, 64u << 10, &buf, &len) < 0)
		return;
	char caller[24];
	snprintf(caller, sizeof(caller), "%d", (int)w->o->caller);
	for (char *p = buf, *next; p && *p; p = next) {
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		uint64_t pid;
		if (!strcmp(p, caller) || nscg_parse_u64(p, &pid) < 0 || pid > INT32_MAX)
			continue;
		/* The pidfd first, then the look: while the process lives,
		 * its pid is its own, so the move is of what was looked at. */
		_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pidfd < 0 || !owned_by(p, w->o->uid))
			continue;
		if (write(w->herd_to, p, strlen(p)) < 0) {
			/* ESRCH: it ended meanwhile. Else (login removed by
			 * the user) once in the log: the processes stay in
			 * the caller's cgroup, under the session's limits. */
			if (errno != ESRCH && !w->herd_failed) {
				w->herd_failed = true;
				syslog(LOG_WARNING, "uid %u %s: cannot move a process of the login into %s/%s: %m",
				       (unsigned)w->o->uid, w->o->user, NSCG_DELEGATE_USER,
				       NSCG_DELEGATE_LOGIN);
			}
			continue;
		}
		char proc[40];
		snprintf(proc, sizeof(proc), "/proc/%s", p);
		if (ended(pidfd) && access(proc, F_OK) == 0 && !owned_by(p, w->o->uid))
			syslog(LOG_WARNING, "uid %u %s: pid %s ended while it was moved into %s/%s, and is now another's",
			       (unsigned)w->o->uid, w->o->user, p, NSCG_DELEGATE_USER, NSCG_DELEGATE_LOGIN);
	}
}

/* The OOM events of the session's memory controller, and the end of the
 * session where cgroup.events tells it. */
static int setup_events(struct watcher *w)
{
	for (size_t i = 0; i < w->host.n; i++) {
		int fd = w->sess.fd[i];
		if (fd < 0)
			continue;
		if (w->events_fd < 0)
			w->events_fd = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
		if (w->mem_hier >= 0 || !(w->host.h[i].ctrls & NSCG_CTRL_MEMORY))
			continue;
		int ev = openat(fd, "memory.events", O_RDONLY | O_CLOEXEC);
		if (ev >= 0) {
			w->mem_hier = (int)i;
			w->mem_v2 = true;
			w->mem_fd = ev;
			w->user_local = w->user.fd[i] >= 0 &&
					faccessat(w->user.fd[i], "memory.events.local", F_OK, 0) == 0;
			continue;
		}
		/* v1: an eventfd the kernel signals at each OOM of the
		 * session (or of an ancestor), and when the cgroup goes. */
		_cleanup_close_ int oc = openat(fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		char line[32];
		snprintf(line, sizeof(line), "%d %d", efd, oc);
		if (oc < 0 || efd < 0 || nscg_write_at(fd, "cgroup.event_control", line) < 0) {
			nscg_close(efd);
			continue;
		}
		w->mem_hier = (int)i;
		w->mem_fd = efd;
	}
	/* Kills since the session began: its cgroup counts from zero, and
	 * the watcher may look a moment after the first. The limits' counts
	 * are the user cgroup's too, which is older: those from now on. */
	if (w->mem_hier >= 0) {
		read_counts(w, &w->seen);
		w->seen.kills = 0;
	}
	/* A kernfs file polls ready until it is first read. */
	char buf[512];
	if (w->events_fd >= 0)
		(void)!pread(w->events_fd, buf, sizeof(buf), 0);
	if (w->mem_v2)
		(void)!pread(w->mem_fd, buf, sizeof(buf), 0);
	return 0;
}

/* Whether the status directory is root's and writable by root only:
 * then only root's watchers have sockets there. */
static bool status_dir_ok(void)
{
	struct stat st;

	return lstat(NSCG_STATUS_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* The status socket, NSCG_STATUS_DIR/UID.NAME: anyone may connect (the
 * peer is checked), nobody but root may bind there. */
static int listen_status(const struct watcher *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (nscg_status_socket(w->o->uid, w->name, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(NSCG_STATUS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!status_dir_ok()) {
		syslog(LOG_ERR, "refusing %s: not root's or writable by others", NSCG_STATUS_DIR);
		return -EPERM;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(sa.sun_path); /* left by a watcher that was killed */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0666) < 0 ||
	    listen(fd, 8) < 0) {
		int r = -errno;
		syslog(LOG_WARNING, "cannot listen on %s: %s", sa.sun_path, strerror(-r));
		(void)unlink(sa.sun_path);
		nscg_close(fd);
		return r;
	}
	return fd;
}

static void set_timeouts(int fd, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* One request: "J" or "T", then " ID" for one session, then a newline.
 * The answer: a digit (nscgctl's exit status), then the output. */
static void serve(struct watcher *w)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char req[64];
	size_t n = 0;
	int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* Only the session's user, or root, before reading a byte. Others
	 * knocking cost the watcher (outside their limits) a little each:
	 * past REFUSALS_PER_S in a second it stops listening until the next. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != w->o->uid && cred.uid != 0)) {
		nscg_close(fd);
		count_in_window(&w->refusals, REFUSALS_PER_S, &w->deaf_until_ms);
		return;
	}
	/* The user's own requests run outside their limits too (standalone):
	 * at most REQUESTS_PER_S a second, then none until the next. */
	count_in_window(&w->requests, REQUESTS_PER_S, &w->deaf_until_ms);
	/* The request within CLIENT_TIMEOUT_MS in all, however it trickles. */
	set_timeouts(fd, CLIENT_TIMEOUT_MS);
	uint64_t deadline = nscg_now_ms() + CLIENT_TIMEOUT_MS;
	while (n < sizeof(req) - 1 && (n == 0 || req[n - 1] != '\n')) {
		uint64_t now = nscg_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1)
			break;
		ssize_t got = read(fd, req + n, sizeof(req) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	req[n] = '\0';
	char *nl = strchr(req, '\n');
	const char *id = NULL;
	if (!nl || (req[0] != 'J' && req[0] != 'T') || (req[1] != '\n' && req[1] != ' ')) {
		nscg_close(fd);
		return;
	}
	*nl = '\0';
	if (req[1] == ' ') {
		id = req + 2;
		if (!*id || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(id)) {
			nscg_close(fd);
			return;
		}
	}
	const struct nscg_status_filter f = { .by_uid = true, .uid = w->o->uid, .session = id };
	struct nscg_status st;
	char *out = NULL;
	size_t olen = 0;
	FILE *mf = open_memstream(&out, &olen);
	int code = 2;
	if (mf && nscg_status_read(&w->host, &f, &st) == 0) {
		code = id && !st.nsess ? 3 : 0;
		if (req[0] == 'J')
			nscg_status_print_json(mf, &st);
		else
			nscg_status_print_table(mf, &st);
		nscg_status_free(&st);
	}
	if (mf && fclose(mf) == 0) {
		char c = (char)('0' + code);
		if (nscg_write_all(fd, &c, 1) == 0)
			(void)nscg_write_all(fd, out, olen);
	}
	free(out);
	nscg_close(fd);
}

/* The session's cgroup.procs (from the first hierarchy that has it), at
 * most max bytes, read into *buf (malloc'd). */
static int read_procs(const struct watcher *w, size_t max, char **buf, size_t *len)
{
	for (size_t i = 0; i < w->host.n; i++) {
		_cleanup_close_ int fd = w->sess.fd[i] < 0 ? -1 :
				openat(w->sess.fd[i], "cgroup.procs", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return nscg_read_fd(fd, max, buf, len);
	}
	return -ENOENT;
}

/* The terminal device of a tty_nr (field 7 of /proc/PID/stat): a pty's
 * or a virtual console's, into path; false for any other. */
static bool tty_path(unsigned long tty_nr, char *path, size_t len)
{
	unsigned major = (unsigned)((tty_nr >> 8) & 0xfff);
	unsigned minor = (unsigned)((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));

	if (major >= 136 && major <= 143) /* UNIX98_PTY_SLAVE_MAJOR */
		snprintf(path, len, "/dev/pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor >= 1 && minor < 64) /* TTY_MAJOR: tty1..tty63 */
		snprintf(path, len, "/dev/tty%u", minor);
	else
		return false;
	return true;
}

/* The controlling terminal of pid (its tty_nr), or 0. */
static unsigned long pid_tty(const char *pid)
{
	char path[64], buf[512];
	unsigned long tty = 0;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	/* ") S PPID PGRP SID TTY_NR" */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %lu", &tty) != 1)
		return 0;
	return tty;
}

#define MAX_TERMINALS 8
#define MAX_PIDS_LOOKED 4096

/* Write line to the session's terminals: PAM_TTY's (opened at the start;
 * sshd opens the session before it makes the pty, and says "ssh") and the
 * controlling terminals of the session's processes, each once, and only
 * a terminal of the session's user. Without blocking: a terminal nobody
 * reads loses the line and never holds the watcher. */
static void tell_terminals(const struct watcher *w, const char *line, size_t len)
{
	dev_t told[MAX_TERMINALS];
	size_t nt = 0;
	struct stat st;

	if (w->o->tty_fd >= 0 && fstat(w->o->tty_fd, &st) == 0) {
		/* Still the user's: a console is handed on after a logout. */
		if (st.st_uid == w->o->uid)
			(void)!write(w->o->tty_fd, line, len);
		told[nt++] = st.st_rdev;
	}
	_cleanup_free_ char *buf = NULL;
	if (read_procs(w, 1u << 20, &buf, NULL) < 0)
		return;
	unsigned looked = 0;
	for (char *pid = strtok(buf, "\n"); pid && nt < MAX_TERMINALS && looked++ < MAX_PIDS_LOOKED;
	     pid = strtok(NULL, "\n")) {
		unsigned long tty = pid_tty(pid);
		char path[64];
		bool seen = false;
		for (size_t k = 0; k < nt; k++)
			seen |= told[k] == (dev_t)tty;
		if (!tty || seen || !tty_path(tty, path, sizeof(path)))
			continue;
		told[nt++] = (dev_t)tty; /* tried: once is enough */
		_cleanup_close_ int t = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
		if (t >= 0 && fstat(t, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == (dev_t)tty &&
		    st.st_uid == w->o->uid && isatty(t))
			(void)!write(t, line, len);
	}
}

/* Tell the terminal (oom_notice) and the log what the OOM killer did,
 * and which limit made it. */
static void notice(struct watcher *w, const struct counts *now)
{
	const char *limit = "the machine's memory";
	char value[32] = "", line[512];
	int cg = -1;

	if (now->sess_hits > w->seen.sess_hits)
		limit = "session.memory.max", cg = w->sess.fd[w->mem_hier];
	else if (now->user_hits > w->seen.user_hits)
		limit = "user.memory.max", cg = w->user.fd[w->mem_hier];
	uint64_t max;
	if (cg >= 0 && (nscg_read_limit_at(cg, w->mem_v2 ? "memory.max" : "memory.limit_in_bytes", &max) == 0))
		nscg_format_bytes(max, value, sizeof(value));
	uint64_t n = w->pending;
	char what[48];
	if (n == 1)
		snprintf(what, sizeof(what), "a process");
	else
		snprintf(what, sizeof(what), "%llu processes", (unsigned long long)n);
	syslog(LOG_NOTICE, "uid %u %s %s: the OOM killer ended %s: %s%s%s%s reached",
	       (unsigned)w->o->uid, w->o->user, w->name, what, limit, *value ? " (" : "", value,
	       *value ? ")" : "");
	if (w->o->notice) {
		int len = snprintf(line, sizeof(line),
				   "\r\nnscg: the OOM killer ended %s of this session: %s%s%s%s was reached. `nscgctl status` shows what is in use.\r\n",
				   what, limit, *value ? " (" : "", value, *value ? ")" : "");
		if (len > 0)
			tell_terminals(w, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	}
	w->seen = *now;
	w->pending = 0;
	w->last_notice_ms = nscg_now_ms();
}

/* New kills are noted, and told at most once a second. */
static void look(struct watcher *w)
{
	struct counts now;

	read_counts(w, &now);
	if (now.kills > w->seen.kills) {
		w->pending = now.kills - w->seen.kills;
		w->look_until_ms = 0; /* the kill is seen: no need to look again */
	}
	if (w->pending && nscg_now_ms() >= w->last_notice_ms + NOTICE_INTERVAL_MS)
		notice(w, &now);
}

/* Whether a failed read of a cgroup file (-errno r) says the cgroup is
 * gone. Anything else passes: in a logind session the watcher is in the
 * session's scope, so the kernel's buffer for the read is charged to the
 * very memory limit that is being hit, and it can fail with ENOMEM right
 * when the kill it is to tell of comes. */
static bool cgroup_gone(int r)
{
	return r == -ENODEV || r == -ENOENT;
}

/* A memory event: new kills are noted, told at most once a second.
 * Returns false when the session's cgroup is gone. */
static bool memory_event(struct watcher *w)
{
	uint64_t v;
	int r = 0;

	if (w->mem_v2) {
		char buf[512];
		if (pread(w->mem_fd, buf, sizeof(buf), 0) < 0)
			r = -errno;
	} else if (read(w->mem_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		r = -errno;
	}
	if (cgroup_gone(r))
		return false;
	/* A v1 cgroup going away signals the eventfd too. */
	r = nscg_read_keyed(w->sess.fd[w->mem_hier], w->mem_v2 ? "memory.events" : "memory.oom_control",
			    "oom_kill", &v);
	if (cgroup_gone(r))
		return false;
	w->look_until_ms = nscg_now_ms() + (w->mem_v2 ? LOOK_FOR_V2_MS : LOOK_FOR_V1_MS);
	w->mem_quiet_until_ms = nscg_now_ms() + MEM_QUIET_MS;
	look(w);
	return true;
}

/* Whether a process other than this one is in the session's cgroup. */
static bool others_in(const struct watcher *w)
{
	_cleanup_free_ char *buf = NULL;
	char me[24];
	size_t ml = (size_t)snprintf(me, sizeof(me), "%d\n", (int)getpid()), len;

	if (read_procs(w, 4u << 20, &buf, &len) < 0)
		return false;
	return len > ml || (len > 0 && strncmp(buf, me, ml));
}

/* Whether the session still has a process (cgroup.events, else a look);
 * a watcher in the session's own cgroup does not count itself, and leaves
 * it to the caller's pidfd where it has one. */
static bool session_alive(const struct watcher *w)
{
	if (w->inside)
		return w->caller_fd >= 0 || others_in(w);
	if (w->events_fd >= 0) {
		char buf[256];
		ssize_t n = pread(w->events_fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			return false;
		buf[n] = '\0';
		return !strstr(buf, "populated 0");
	}
	return nscg_cgroup_populated(&w->host, &w->sess) > 0;
}

/* Whether an fd put to sleep until until_ms is polled again by now; if
 * not, the poll's *timeout ends no later than its wake-up. */
static bool awake(uint64_t until_ms, uint64_t now, int *timeout)
{
	if (now >= until_ms)
		return true;
	if (*timeout > (int)(until_ms - now))
		*timeout = (int)(until_ms - now);
	return false;
}

int nscg_watch_run(const struct nscg_watch_opts *o)
{
	struct watcher w = { .o = o, .mem_hier = -1, .mem_fd = -1, .events_fd = -1,
			     .listen_fd = -1, .caller_fd = -1, .herd_from = -1, .herd_to = -1,
			     .start_ms = nscg_now_ms() };

	nscg_cgroup_init(&w.sess);
	nscg_cgroup_init(&w.user);
	openlog("nscg-watch", LOG_PID, LOG_AUTHPRIV);
	if (nscg_host_detect(NULL, &w.host, NULL) < 0 || find_session(&w) < 0) {
		/* With delegate the login's processes would stay root's. */
		if (o->delegate)
			syslog(LOG_WARNING, "uid %u %s: no delegated session found for pid %d: its processes stay out of the user's subtree",
			       (unsigned)o->uid, o->user, (int)o->caller);
		return 0; /* no session to watch */
	}
	/* The login ends with its caller (sshd's, login's or su's process):
	 * so does the watcher, whatever processes it left. */
	w.caller_fd = o->caller_fd;
	setup_events(&w);
	/* In a logind session the caller, and so the watcher, is in the
	 * scope: it keeps it populated, so cgroup.events says nothing. */
	struct nscg_cgroup self;
	if (nscg_cgroup_open_of(&w.host, 0, w.name, &self) == 0)
		for (size_t i = 0; i < w.host.n; i++)
			w.inside |= self.fd[i] >= 0;
	nscg_cgroup_close(&self);
	w.listen_fd = listen_status(&w);
	if (w.mem_hier >= 0)
		look(&w); /* a kill before the watcher looked */
	while (session_alive(&w)) {
		struct pollfd p[4];
		nfds_t n = 0;
		int timeout = w.inside ? INSIDE_CHECK_INTERVAL_MS : CHECK_INTERVAL_MS;
		uint64_t now = nscg_now_ms();
		if (w.caller_fd >= 0)
			p[n++] = (struct pollfd){ .fd = w.caller_fd, .events = POLLIN };
		if (w.events_fd >= 0 && !w.inside)
			p[n++] = (struct pollfd){ .fd = w.events_fd, .events = POLLPRI };
		if (w.mem_fd >= 0 && awake(w.mem_quiet_until_ms, now, &timeout))
			p[n++] = (struct pollfd){ .fd = w.mem_fd, .events = w.mem_v2 ? POLLPRI : POLLIN };
		if (w.listen_fd >= 0 && awake(w.deaf_until_ms, now, &timeout))
			p[n++] = (struct pollfd){ .fd = w.listen_fd, .events = POLLIN };
		if (w.pending) {
			uint64_t due = w.last_notice_ms + NOTICE_INTERVAL_MS;
			int left = due > now ? (int)(due - now) : 0;
			timeout = left < timeout ? left : timeout;
		}
		if (w.look_until_ms > now && timeout > LOOK_AGAIN_MS)
			timeout = LOOK_AGAIN_MS;
		if (w.herd_to >= 0 && awake(w.herd_next_ms, now, &timeout)) {
			herd(&w, now);
			(void)awake(w.herd_next_ms, now, &timeout);
		}
		int r = poll(p, n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		bool ok = true;
		for (nfds_t i = 0; i < n && r > 0 && ok; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == w.caller_fd)
				ok = false; /* the caller has ended */
			else if (p[i].fd == w.listen_fd)
				serve(&w);
			else if (p[i].fd == w.mem_fd)
				ok = memory_event(&w);
		}
		if (!ok)
			break;
		if (w.pending || w.look_until_ms > nscg_now_ms())
			look(&w);
	}
	/* Kills in the last moments are told too. */
	if (w.mem_hier >= 0) {
		struct counts now;
		read_counts(&w, &now);
		if (now.kills > w.seen.kills) {
			w.pending = now.kills - w.seen.kills;
			notice(&w, &now);
		}
	}
	if (w.listen_fd >= 0) {
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (nscg_status_socket(o->uid, w.name, path, sizeof(path)) == 0)
			(void)unlink(path);
	}
	return 0;
}

/* ---- the client ---- */

struct ask {
	bool json;
	const char *session;
	FILE *out;
	uint64_t deadline;
};

/* Wait for fd to be readable until a->deadline. */
static bool wait_readable(int fd, const struct ask *a)
{
	uint64_t now = nscg_now_ms();
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return now < a->deadline && poll(&p, 1, (int)(a->deadline - now)) == 1;
}

/* Ask the watcher at path; -ENOENT to try the next. */
static int ask_one(const char *path, const struct ask *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	char req[64], buf[8192];

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENOENT;
	strcpy(sa.sun_path, path);
	/* Without blocking: a full backlog (a watcher that stopped
	 * listening for a moment) is the next one's turn. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EAGAIN ? -EAGAIN : -ENOENT;
	/* Only root's watcher is believed. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
		return -ENOENT;
	int rl = snprintf(req, sizeof(req), "%c%s%s\n", a->json ? 'J' : 'T', a->session ? " " : "",
			  a->session ? a->session : "");
	if (rl < 0 || (size_t)rl >= sizeof(req) || send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl)
		return -ENOENT;
	int code = -1;
	while (wait_readable(fd, a)) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EAGAIN)
			continue;
		if (got <= 0)
			break;
		const char *p = buf;
		if (code < 0) {
			if (buf[0] < '0' || buf[0] > '9')
				return -ENOENT;
			code = buf[0] - '0';
			p++, got--;
		}
		fwrite(p, 1, (size_t)got, a->out);
	}
	return code < 0 ? -ENOENT : code;
}

/* At most this many of the user's sockets are tried. */
#define MAX_ASKED 16

int nscg_watch_ask(uid_t uid, bool json, const char *session, FILE *out)
{
	struct ask a = { json, session, out, nscg_now_ms() + ASK_TIMEOUT_MS };
	_cleanup_closedir_ DIR *d = NULL;
	char prefix[24];

	if (!status_dir_ok() || !(d = opendir(NSCG_STATUS_DIR)))
		return -ENOENT;
	snprintf(prefix, sizeof(prefix), "%u.", (unsigned)uid);
	/* Rounds over the user's sockets until one answers; a watcher that
	 * stopped listening for a moment (its backlog full) is asked again
	 * in the next round, until the deadline. */
	for (;;) {
		int r = -ENOENT, asked = 0;
		bool busy = false;
		rewinddir(d);
		for (struct dirent *de; asked < MAX_ASKED && (de = readdir(d));) {
			char path[sizeof(NSCG_STATUS_DIR) + 256];
			if (strncmp(de->d_name, prefix, strlen(prefix)))
				continue;
			snprintf(path, sizeof(path), NSCG_STATUS_DIR "/%s", de->d_name);
			asked++;
			r = ask_one(path, &a);
			busy |= r == -EAGAIN;
			if (r != -ENOENT && r != -EAGAIN)
				return r;
		}
		if (!busy || nscg_now_ms() + 50 >= a.deadline)
			return -ENOENT;
		nscg_sleep_ms(50);
	}
}
