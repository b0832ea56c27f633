/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup layer on this machine's real cgroupfs, as root. Everything
 * lives under a parent of its own (nscg-test-PID) and is removed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

#define TEST_GROUP "cgroup"
#include "../root-test.h"

static char parent[64];

/* Read /sys/fs/cgroup/<hier>/<parent>/<rel>/<file>, trailing newline cut. */
static const char *readf(const char *hier, const char *rel, const char *file)
{
	static char buf[256];
	char path[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/%s/%s", hier, parent,
		 rel, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "(missing)";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static bool exists(const char *hier, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s%s%s", hier, parent,
		 rel[0] ? "/" : "", rel);
	return stat(path, &st) == 0;
}

/* The weight file this host's blkio hierarchy offers, if any: which one
 * depends on the block devices' I/O schedulers. */
static const char *blkio_weight_file(void)
{
	static const char *const names[] = { "blkio.weight", "blkio.bfq.weight" };
	char path[128];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/blkio/%s", names[i]);
		if (stat(path, &st) == 0)
			return names[i];
	}
	return NULL;
}

/* The line of /proc/PID/cgroup for a hierarchy ("memory", or "" for v2). */
static bool in_cgroup(pid_t pid, const char *ctrl, const char *want)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b)
			continue;
		*b = '\0';
		b[1 + strcspn(b + 1, "\n")] = '\0';
		if (!strcmp(a + 1, ctrl) && !strcmp(b + 1, want))
			found = true;
	}
	fclose(f);
	return found;
}

/* A child that waits in the cgroup until killed. */
static pid_t spawn_in(const struct nscg_host *host, const struct nscg_cgroup *cg,
		      const char *what)
{
	int pfd[2];
	char c;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(1);
		if (!strcmp(what, "fork-bomb")) {
			int ok = 0;
			for (int i = 0; i < 64; i++) {
				pid_t p = fork();
				if (p == 0) {
					pause();
					_exit(0);
				}
				if (p > 0)
					ok++;
			}
			_exit(ok); /* forks that succeeded */
		}
		if (!strcmp(what, "hog")) {
			size_t n = 256u << 20;
			char *m = malloc(n);
			for (size_t i = 0; m && i < n; i += 4096)
				m[i] = 1;
			_exit(0);
		}
		if (!strcmp(what, "spin")) {
			for (volatile unsigned long i = 0; i < 200000000ul; i++)
				;
			_exit(0);
		}
		pause();
		_exit(0);
	}
	close(pfd[0]);
	if (pid > 0 && nscg_cgroup_attach(host, cg, pid) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (write(pfd[1], "x", 1) != 1)
		pid = -1;
	close(pfd[1]);
	return pid;
}

int main(void)
{
	struct nscg_host host;
	struct nscg_cgroup top, user, sess;
	struct nscg_limits lim = { 0 };
	bool created;
	char path[256];
	int st;

	if (geteuid() != 0) {
		printf("SKIP: cgroup (needs root)\n");
		return 77;
	}
	snprintf(parent, sizeof(parent), "nscg-test-%d", (int)getpid());

	T("detect", nscg_host_detect(NULL, &host, &tlog) == 0);
	struct stat sb;
	bool hybrid_here = stat("/sys/fs/cgroup/unified/cgroup.procs", &sb) == 0 &&
			   stat("/sys/fs/cgroup/memory/cgroup.procs", &sb) == 0;
	T("detect-layout", host.layout == (hybrid_here ? NSCG_LAYOUT_HYBRID : host.layout));
	printf("# layout %s, %zu hierarchies\n", nscg_layout_name(host.layout), host.n);

	snprintf(path, sizeof(path), "%s/user-4242/session-1", parent);
	T("open-missing-is-enoent",
	  nscg_cgroup_open(&host, path, false, &sess, NULL, &tlog) == -ENOENT);
	T("create-session", nscg_cgroup_open(&host, path, true, &sess, &created, &tlog) == 0);
	T("create-reports-created", created);
	snprintf(path, sizeof(path), "%s/user-4242", parent);
	T("open-user", nscg_cgroup_open(&host, path, false, &user, NULL, &tlog) == 0);
	T("open-parent", nscg_cgroup_open(&host, parent, false, &top, NULL, &tlog) == 0);
	if (hybrid_here) {
		T("dir-memory", exists("memory", "user-4242/session-1"));
		T("dir-unified", exists("unified", "user-4242/session-1"));
		T("dir-pids", exists("pids", "user-4242/session-1"));
		T("no-dir-in-named-systemd", !exists("systemd", ""));
		T("no-dir-in-devices", !exists("devices", ""));
		T("cpuset-inherited", strcmp(readf("cpuset", "user-4242/session-1", "cpuset.cpus"), "") &&
					      strcmp(readf("cpuset", "user-4242/session-1", "cpuset.mems"), ""));
	}

	lim.set[NSCG_MEMORY_MAX] = true, lim.num[NSCG_MEMORY_MAX] = 64u << 20;
	lim.set[NSCG_PIDS_MAX] = true, lim.num[NSCG_PIDS_MAX] = 16;
	lim.set[NSCG_CPU_MAX] = true, lim.num[NSCG_CPU_MAX] = 50;
	lim.set[NSCG_CPU_WEIGHT] = true, lim.num[NSCG_CPU_WEIGHT] = 200;
	lim.set[NSCG_CPUSET_CPUS] = true, lim.cpus.w[0] = 1;
	lim.set[NSCG_IO_WEIGHT] = true, lim.num[NSCG_IO_WEIGHT] = 500;
	logbuf[0] = '\0';
	T("apply", nscg_cgroup_apply(&host, &sess, &lim, "session", &tlog) == 0);
	bool io_weight_refused = strstr(logbuf, "cannot honour ") && strstr(logbuf, "session.io.weight");
	if (hybrid_here && !blkio_weight_file() && stat("/sys/fs/cgroup/blkio/cgroup.procs", &sb) == 0)
		printf("SKIP: " TEST_GROUP "/v1-io.weight-as-blkio (this host's blkio hierarchy has no "
		       "weight file: its block devices' I/O schedulers offer none)\n");
	/* The same limits again with a plan: nothing to change. Then one
	 * changed, in a dry run (reported, not written) and for real. */
	struct nscg_apply_plan plan = { .dry_run = true };
	T("plan-same-no-change", nscg_cgroup_apply_plan(&host, &sess, &lim, "session", &plan, &tlog) == 0 &&
					 plan.changes == 0);
	lim.num[NSCG_PIDS_MAX] = 20;
	T("plan-dry-run-counts", nscg_cgroup_apply_plan(&host, &sess, &lim, "session", &plan, &tlog) == 0 &&
					 plan.changes == 1);
	uint64_t cur, max;
	T("plan-dry-run-writes-nothing", nscg_cgroup_pids(&host, &sess, &cur, &max) == 0 && max == 16);
	plan = (struct nscg_apply_plan){ 0 };
	T("plan-writes", nscg_cgroup_apply_plan(&host, &sess, &lim, "session", &plan, &tlog) == 0 &&
				 plan.changes == 1 && nscg_cgroup_pids(&host, &sess, &cur, &max) == 0 && max == 20);
	lim.num[NSCG_PIDS_MAX] = 16;
	T("plan-back", nscg_cgroup_apply(&host, &sess, &lim, "session", &tlog) == 0);
	if (hybrid_here) {
		T("v1-memory.limit_in_bytes", !strcmp(readf("memory", "user-4242/session-1", "memory.limit_in_bytes"), "67108864"));
		T("v1-pids.max", !strcmp(readf("pids", "user-4242/session-1", "pids.max"), "16"));
		T("v1-cfs_quota_us", !strcmp(readf("cpu", "user-4242/session-1", "cpu.cfs_quota_us"), "50000"));
		T("v1-cpu.shares", !strcmp(readf("cpu", "user-4242/session-1", "cpu.shares"), "2048"));
		T("v1-cpuset.cpus", !strcmp(readf("cpuset", "user-4242/session-1", "cpuset.cpus"), "0"));
		/* The host decides: a blkio hierarchy with a weight file (the
		 * block device's scheduler, BFQ or CFQ, offers one) takes the
		 * weight; without one, or without blkio, the weight is not
		 * applied, and the log says so. */
		if (blkio_weight_file())
			T("v1-io.weight-as-blkio",
			  !strcmp(readf("blkio", "user-4242/session-1", blkio_weight_file()), "50"));
		else
			T("v1-io.weight-unhonoured-logged", io_weight_refused);
		/* v1 limits swap only under a finite memory limit: a swap
		 * limit alone cannot be honoured, and that is said. */
		struct nscg_limits swap = { 0 };
		swap.set[NSCG_MEMORY_SWAP_MAX] = true;
		swap.num[NSCG_MEMORY_SWAP_MAX] = 0;
		logbuf[0] = '\0';
		T("apply-unhonourable", nscg_cgroup_apply(&host, &user, &swap, "user", &tlog) == 0);
		T("unhonoured-limit-logged", strstr(logbuf, "cannot honour user.memory.swap.max (hybrid layout)") != NULL);
	}

	/* Processes go in, a fork loop stops at pids.max, a memory hog is
	 * OOM-killed, and kill empties the cgroup. */
	pid_t sleeper = spawn_in(&host, &sess, "sleep");
	snprintf(path, sizeof(path), "/%s/user-4242/session-1", parent);
	T("attach-memory", sleeper > 0 && in_cgroup(sleeper, "memory", path));
	if (hybrid_here)
		T("attach-unified", in_cgroup(sleeper, "", path));
	T("count-procs", nscg_cgroup_populated(&host, &sess) == 1);
	pid_t bomb = spawn_in(&host, &sess, "fork-bomb");
	T("fork-bomb-ran", bomb > 0 && waitpid(bomb, &st, 0) == bomb && WIFEXITED(st));
	/* 16 tasks: the sleeper, the bomb and at most 14 children. */
	T("pids.max-stops-fork-loop", WEXITSTATUS(st) > 0 && WEXITSTATUS(st) <= 14);
	pid_t hog = spawn_in(&host, &sess, "hog");
	T("memory-hog-oom-killed", hog > 0 && waitpid(hog, &st, 0) == hog &&
					   WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	struct nscg_usage u;
	nscg_cgroup_usage(&host, &sess, &u);
	T("usage-mem-peak", u.mem_peak != NSCG_USAGE_UNKNOWN && u.mem_peak >= (32u << 20));
	T("usage-oom-kills", u.oom_kills != NSCG_USAGE_UNKNOWN && u.oom_kills >= 1);
	T("usage-cpu", u.cpu_usec != NSCG_USAGE_UNKNOWN);
	T("usage-mem-max", u.mem_max == 64u << 20);
	T("usage-mem-current", u.mem_current != NSCG_USAGE_UNKNOWN && u.mem_current < (64u << 20));
	T("usage-tasks", u.tasks >= 1 && u.tasks <= 16 && u.tasks_max == 16);
	T("usage-throttling", u.nr_throttled != NSCG_USAGE_UNKNOWN);
	struct nscg_usage uu;
	nscg_cgroup_usage(&host, &user, &uu);
	T("usage-user-unlimited-is-max", uu.tasks_max == NSCG_UNLIMITED && uu.mem_max == NSCG_UNLIMITED);
	/* A subtree below the session (delegate = yes), in the unified
	 * hierarchy, given to a user: a process deep in it counts, the
	 * kill reaches it, the removal takes its cgroups. */
	int uni = -1;
	for (size_t i = 0; i < host.n; i++)
		if (host.h[i].ops == &nscg_backend_v2)
			uni = (int)i;
	pid_t deep = -1;
	if (uni >= 0) {
		_cleanup_close_ int x = -1;
		bool made = mkdirat(sess.fd[uni], "x", 0755) == 0 &&
			    (x = openat(sess.fd[uni], "x", O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
			    mkdirat(x, "y", 0755) == 0 && fchownat(x, "", 4242, 4242, AT_EMPTY_PATH) == 0 &&
			    fchownat(x, "y", 4242, 4242, 0) == 0;
		T("subtree-made", made);
		deep = spawn_in(&host, &sess, "sleep");
		char buf[24];
		snprintf(buf, sizeof(buf), "%d", (int)deep);
		T("subtree-process-moved", made && deep > 0 && nscg_write_at(x, "y/cgroup.procs", buf) == 0);
		char want[300];
		snprintf(want, sizeof(want), "/%s/user-4242/session-1/x/y", parent);
		T("subtree-process-deep", in_cgroup(deep, "", want));
	}
	T("kill", nscg_cgroup_kill(&host, &sess, TEST_DEADLINE_MS) == 0);
	T("kill-empties", nscg_cgroup_populated(&host, &sess) == 0);
	T("sleeper-killed", waitpid(sleeper, &st, 0) == sleeper && WIFSIGNALED(st));
	if (uni >= 0)
		T("subtree-process-killed", deep > 0 && waitpid(deep, &st, 0) == deep && WIFSIGNALED(st));

	T("rmdir-busy-parent-refused", nscg_cgroup_rmdir(&host, &top, "user-4242", 20) == -EBUSY);
	T("rmdir-session", nscg_cgroup_rmdir_session(&host, &user, "session-1", TEST_DEADLINE_MS) == 0);
	T("rmdir-session-subtree-gone", !exists("unified", "user-4242/session-1/x"));
	T("rmdir-user", nscg_cgroup_rmdir(&host, &top, "user-4242", TEST_DEADLINE_MS) == 0);
	nscg_cgroup_close(&top);
	nscg_cgroup_close(&user);
	nscg_cgroup_close(&sess);
	struct nscg_cgroup root;
	nscg_cgroup_init(&root);
	for (size_t i = 0; i < host.n; i++)
		if (nscg_hier_used(&host.h[i]))
			root.fd[i] = openat(host.h[i].root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	T("rmdir-parent", nscg_cgroup_rmdir(&host, &root, parent, TEST_DEADLINE_MS) == 0);
	nscg_cgroup_close(&root);
	bool left = false;
	for (size_t i = 0; i < host.n; i++) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", host.h[i].mount, parent);
		left |= stat(p, &sb) == 0;
	}
	T("nothing-left", !left);
	nscg_host_close(&host);
	printf("cgroup: %u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
