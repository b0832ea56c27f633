/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscg-helper and the namespace join, as root, on this machine: a child
 * plays the login process (moved into a session cgroup, then into the
 * helper's namespaces), checks what it sees, and goes back. Usage:
 * test-ns HELPER (a root-owned copy of build/nscg-helper). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "ns.h"
#include "util.h"

#define TEST_GROUP "ns"
#include "../root-test.h"

static void nslinks(char out[4][64])
{
	static const char *const n[4] = { "cgroup", "mnt", "ipc", "uts" };
	char p[64];
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "/proc/self/ns/%s", n[i]);
		ssize_t l = readlink(p, out[i], 63);
		out[i][l > 0 ? l : 0] = '\0';
	}
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	if (fd >= 0) {
		if (nscg_read_fd(fd, 1 << 20, &buf, NULL) < 0)
			buf = NULL;
		close(fd);
	}
	return buf;
}

/* Every line of /proc/self/cgroup ends in ":/" (the namespace root). */
static bool all_roots(void)
{
	char *c = slurp("/proc/self/cgroup");
	bool ok = c != NULL;
	for (char *l = c; ok && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && (len < 2 || l[len - 2] != ':' || l[len - 1] != '/'))
			ok = false;
	}
	free(c);
	return ok;
}

static bool write_denied_as_nobody(const char *path)
{
	pid_t p = fork();
	if (p == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	int st;
	return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* What the module does: start the helper, then enter the session. The
 * caller is in the session cgroup already, and so the helper it forks. */
static int enter(int hfd, unsigned mask, const char *hostname,
		 const struct nscg_ns_saved *saved, unsigned timeout_ms)
{
	struct nscg_helper h;
	int r = nscg_helper_spawn(hfd, mask, NULL, NULL, &h, &tlog);

	return r < 0 ? r : nscg_ns_enter_session(&h, mask, hostname, saved, -1, timeout_ms, &tlog);
}

/* The login process: into the session cgroup, into the namespaces, look,
 * and back. Runs in a child so the test process itself stays put. */
static int login_process(const char *helper, const struct nscg_host *host,
			 const struct nscg_cgroup *sess)
{
	struct nscg_ns_saved saved;
	char before[4][64], inside[4][64], after[4][64], host_name[128], name[128];

	T("attach-self", nscg_cgroup_attach(host, sess, 0) == 0);
	if (chdir("/tmp") < 0)
		return 1;
	T("save", nscg_ns_save(&saved) == 0);
	nslinks(before);
	gethostname(host_name, sizeof(host_name));
	int hfd = nscg_helper_open(helper, &tlog);
	T("helper-open", hfd >= 0);
	logbuf[0] = '\0';
	T("enter", enter(hfd, NSCG_NS_ALL, "nscg-t", &saved, TEST_DEADLINE_MS) == 0);
	nslinks(inside);
	for (int i = 0; i < 4; i++)
		T("namespace-differs", strcmp(before[i], inside[i]) != 0);
	T("proc-self-cgroup-is-root", all_roots());
	T("hostname-set", gethostname(name, sizeof(name)) == 0 && !strcmp(name, "nscg-t"));
	char cwd[256];
	T("cwd-restored", getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/tmp"));
	/* And it is the session's /tmp, not the host's: same mount. */
	struct statx dot, tmp;
	T("cwd-in-session-mount-ns",
	  statx(AT_FDCWD, ".", 0, STATX_MNT_ID, &dot) == 0 &&
		  statx(AT_FDCWD, "/tmp", 0, STATX_MNT_ID, &tmp) == 0 &&
		  (dot.stx_mask & STATX_MNT_ID) && dot.stx_mnt_id == tmp.stx_mnt_id);
	char *lim = slurp("/sys/fs/cgroup/memory/memory.limit_in_bytes");
	T("session-limit-visible-at-root", lim && !strcmp(lim, "134217728\n"));
	free(lim);
	char *procs = slurp("/sys/fs/cgroup/memory/cgroup.procs");
	char me[32];
	snprintf(me, sizeof(me), "%d\n", (int)getpid());
	T("session-root-holds-me", procs && strstr(procs, me));
	free(procs);
	T("unified-mounted", access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0);
	T("limit-not-writable-by-user",
	  write_denied_as_nobody("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
	T("tmpfs-read-only", mkdir("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS);
	T("no-host-cgroups-visible", access("/sys/fs/cgroup/memory/process_api", F_OK) < 0);

	T("restore", nscg_ns_restore(&saved, NSCG_NS_ALL) == 0);
	nslinks(after);
	for (int i = 0; i < 4; i++)
		T("namespace-restored", !strcmp(before[i], after[i]));
	T("hostname-restored", gethostname(name, sizeof(name)) == 0 && !strcmp(name, host_name));
	T("proc-self-cgroup-full-path-again", !all_roots());

	/* Faults: each one fails cleanly and leaves the namespaces alone. */
	logbuf[0] = '\0';
	T("missing-helper", nscg_helper_open("/nonexistent/nscg-helper", &tlog) == -ENOENT &&
				    strstr(logbuf, "/nonexistent/nscg-helper"));
	char bad[64];
	snprintf(bad, sizeof(bad), "%s.gw", helper);
	logbuf[0] = '\0';
	T("group-writable-helper-refused", nscg_helper_open(bad, &tlog) == -EPERM &&
						   strstr(logbuf, "refusing the helper"));
	snprintf(bad, sizeof(bad), "%s.d/nscg-helper", helper);
	logbuf[0] = '\0';
	T("helper-in-writable-dir-refused", nscg_helper_open(bad, &tlog) == -EPERM &&
						    strstr(logbuf, "a directory on its path"));
	snprintf(bad, sizeof(bad), "%s.false", helper);
	int ffd = nscg_helper_open(bad, &tlog);
	logbuf[0] = '\0';
	T("silent-helper-fails", ffd >= 0 && enter(ffd, NSCG_NS_ALL, NULL, &saved, TEST_DEADLINE_MS) == -EIO &&
					 strstr(logbuf, "ended without an answer"));
	nslinks(after);
	T("namespaces-untouched-after-fault", !memcmp(before, after, sizeof(before)));
	logbuf[0] = '\0';
	T("hostname-needs-uts", enter(hfd, NSCG_NS_CGROUP | NSCG_NS_MOUNT, "x", &saved, 2000) == -EINVAL &&
					strstr(logbuf, "needs the uts namespace"));
	nslinks(after);
	T("namespaces-untouched-after-refusal", !memcmp(before, after, sizeof(before)));
	nscg_close(ffd);
	nscg_close(hfd);
	nscg_ns_close(&saved);
	return fail ? 1 : 0;
}

/* A user who filled their pids limit cannot make the helper fail: it is
 * forked from outside the full cgroup and stays there, as the module
 * does; only the caller moves in. Runs in a child. */
static int full_cgroup_login(const char *helper, const struct nscg_host *host,
			     const struct nscg_cgroup *sess)
{
	struct nscg_ns_saved saved;
	struct nscg_helper h;
	struct nscg_limits lim = { 0 };

	int hfd = nscg_helper_open(helper, &tlog);
	T("full-helper-open", hfd >= 0);
	T("full-save", nscg_ns_save(&saved) == 0);
	T("full-spawn-outside", nscg_helper_spawn(hfd, NSCG_NS_ALL, NULL, NULL, &h, &tlog) == 0);
	lim.set[NSCG_PIDS_MAX] = true;
	lim.num[NSCG_PIDS_MAX] = 1;
	T("full-limit", nscg_cgroup_apply(host, sess, &lim, "session", &tlog) == 0);
	T("full-attach-self", nscg_cgroup_attach(host, sess, 0) == 0);
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	T("full-fork-refused-inside", p < 0 && errno == EAGAIN);
	if (p > 0)
		waitpid(p, NULL, 0);
	logbuf[0] = '\0';
	T("full-enter", nscg_ns_enter_session(&h, NSCG_NS_ALL, NULL, &saved, -1, 5000, &tlog) == 0);
	if (logbuf[0])
		printf("# %s\n", logbuf);
	T("full-cgroup-is-root", all_roots());
	T("full-restore", nscg_ns_restore(&saved, NSCG_NS_ALL) == 0);
	nscg_ns_close(&saved);
	nscg_close(hfd);
	return fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nscg_host host;
	struct nscg_cgroup sess, user;
	char path[128], parent[64];
	struct nscg_limits lim = { 0 };
	int st;

	if (argc != 2) {
		printf("FAIL: ns/setup: usage: test-ns HELPER\n");
		return 1;
	}
	if (geteuid() != 0) {
		printf("SKIP: ns (needs root)\n");
		return 77;
	}
	char *mounts_before = slurp("/proc/self/mountinfo");
	snprintf(parent, sizeof(parent), "nscg-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/user-4243/session-1", parent);
	if (nscg_host_detect(NULL, &host, &tlog) < 0 ||
	    nscg_cgroup_open(&host, path, true, &sess, NULL, &tlog) < 0) {
		printf("FAIL: ns/setup: %s\n", logbuf);
		return 1;
	}
	lim.set[NSCG_MEMORY_MAX] = true;
	lim.num[NSCG_MEMORY_MAX] = 128u << 20;
	nscg_cgroup_apply(&host, &sess, &lim, "session", &tlog);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(login_process(argv[1], &host, &sess));
	waitpid(pid, &st, 0);
	T("login-process-exited", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T("cleanup-kill-first", nscg_cgroup_kill(&host, &sess, TEST_DEADLINE_MS) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(full_cgroup_login(argv[1], &host, &sess));
	waitpid(pid, &st, 0);
	T("full-login-process-exited", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *mounts_after = slurp("/proc/self/mountinfo");
	T("host-mount-table-unchanged", mounts_before && mounts_after &&
						!strcmp(mounts_before, mounts_after));
	free(mounts_before);
	free(mounts_after);
	T("cleanup-kill", nscg_cgroup_kill(&host, &sess, TEST_DEADLINE_MS) == 0);
	snprintf(path, sizeof(path), "%s/user-4243", parent);
	nscg_cgroup_open(&host, path, false, &user, NULL, &tlog);
	T("cleanup-rmdir-session", nscg_cgroup_rmdir(&host, &user, "session-1", TEST_DEADLINE_MS) == 0);
	nscg_cgroup_close(&user);
	nscg_cgroup_open(&host, parent, false, &user, NULL, &tlog);
	T("cleanup-rmdir-user", nscg_cgroup_rmdir(&host, &user, "user-4243", TEST_DEADLINE_MS) == 0);
	nscg_cgroup_close(&user);
	for (size_t i = 0; i < host.n; i++)
		if (nscg_hier_used(&host.h[i]))
			unlinkat(host.h[i].root_fd, parent, AT_REMOVEDIR);
	bool left = false;
	for (size_t i = 0; i < host.n; i++) {
		struct stat sb;
		left |= fstatat(host.h[i].root_fd, parent, &sb, 0) == 0;
	}
	T("nothing-left", !left);
	nscg_cgroup_close(&sess);
	nscg_host_close(&host);
	/* The child's counts are in its own PASS/FAIL lines. */
	printf("ns: %u passed, %u failed (parent side)\n", pass, fail);
	return fail ? 1 : 0;
}
