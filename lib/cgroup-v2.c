/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unified (v2) hierarchy: the policy's names are the kernel's. */
#include "cgroup.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

static void fmt_max(uint64_t v, char *buf, size_t len)
{
	if (v == NSCG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Write file if this hierarchy carries ctrl; a file the kernel does not
 * offer (ENOENT) leaves the limit not done rather than failing. */
static int put(const struct nscg_hier *h, int dirfd, unsigned ctrl, const char *file,
	       const char *val, struct nscg_apply_plan *plan, bool *done)
{
	return h->ctrls & ctrl ? nscg_cgroup_put(dirfd, file, val, plan, done) : 0;
}

static int v2_apply(const struct nscg_hier *h, int dirfd, const struct nscg_limits *lim,
		    bool *done, struct nscg_apply_plan *plan)
{
	static const struct {
		enum nscg_limit limit;
		unsigned ctrl;
		const char *file;
	} plain[] = {
		{ NSCG_MEMORY_MAX, NSCG_CTRL_MEMORY, "memory.max" },
		{ NSCG_MEMORY_HIGH, NSCG_CTRL_MEMORY, "memory.high" },
		{ NSCG_MEMORY_SWAP_MAX, NSCG_CTRL_MEMORY, "memory.swap.max" },
		{ NSCG_CPU_WEIGHT, NSCG_CTRL_CPU, "cpu.weight" },
		{ NSCG_PIDS_MAX, NSCG_CTRL_PIDS, "pids.max" },
	};
	char val[64];
	int r;

	for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
		enum nscg_limit k = plain[i].limit;
		if (!lim->set[k])
			continue;
		fmt_max(lim->num[k], val, sizeof(val));
		r = put(h, dirfd, plain[i].ctrl, plain[i].file, val, plan, &done[k]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_CPU_MAX]) {
		/* A percentage of one CPU over a 100 ms period. */
		if (lim->num[NSCG_CPU_MAX] == NSCG_UNLIMITED)
			snprintf(val, sizeof(val), "max 100000");
		else
			snprintf(val, sizeof(val), "%llu 100000",
				 (unsigned long long)lim->num[NSCG_CPU_MAX] * 1000);
		r = put(h, dirfd, NSCG_CTRL_CPU, "cpu.max", val, plan, &done[NSCG_CPU_MAX]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_IO_WEIGHT]) {
		snprintf(val, sizeof(val), "default %llu",
			 (unsigned long long)lim->num[NSCG_IO_WEIGHT]);
		r = put(h, dirfd, NSCG_CTRL_IO, "io.weight", val, plan, &done[NSCG_IO_WEIGHT]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_CPUSET_CPUS]) {
		char cpus[4096];
		nscg_cpuset_format(&lim->cpus, cpus, sizeof(cpus));
		r = put(h, dirfd, NSCG_CTRL_CPUSET, "cpuset.cpus", cpus, plan,
			&done[NSCG_CPUSET_CPUS]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void v2_usage(const struct nscg_hier *h, int dirfd, struct nscg_usage *u)
{
	uint64_t v;

	if (nscg_read_keyed(dirfd, "cpu.stat", "usage_usec", &v) == 0)
		u->cpu_usec = v;
	/* Throttling is counted where the cpu controller is enabled. */
	if (h->ctrls & NSCG_CTRL_CPU) {
		if (nscg_read_keyed(dirfd, "cpu.stat", "nr_throttled", &v) == 0)
			u->nr_throttled = v;
		if (nscg_read_keyed(dirfd, "cpu.stat", "throttled_usec", &v) == 0)
			u->throttled_usec = v;
	}
	if (h->ctrls & NSCG_CTRL_MEMORY) {
		if (nscg_read_u64_at(dirfd, "memory.current", &v) == 0)
			u->mem_current = v;
		if (nscg_read_limit_at(dirfd, "memory.max", &v) == 0)
			u->mem_max = v;
		if (nscg_read_u64_at(dirfd, "memory.peak", &v) == 0)
			u->mem_peak = v;
		if (nscg_read_keyed(dirfd, "memory.events", "oom_kill", &v) == 0)
			u->oom_kills = v;
	}
}

/* Every v2 hierarchy holds sessions: the unified one of a hybrid host
 * too, for cgroup.kill and its cgroup namespace root. */
static bool v2_used(const struct nscg_hier *h)
{
	return true;
}

static bool v2_owns_line(const struct nscg_hier *h, const char *ctrls)
{
	return *ctrls == '\0'; /* "0::PATH" */
}

/* Enable in parent the controllers of ours this hierarchy offers that
 * are not enabled yet, so that the child gets them. */
static int v2_prepare(const struct nscg_hier *h, int parent, int child)
{
	static const char *const want[] = { "memory", "cpu", "cpuset", "pids", "io" };
	char cur[512], line[128];
	size_t o = 0;
	int r;

	unsigned wanted = 0;
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		wanted |= nscg_ctrl_mask(want[i], NULL);
	/* The unified hierarchy of a hybrid host offers none. */
	if (!(h->ctrls & wanted))
		return 0;
	if ((r = nscg_read_at(parent, "cgroup.subtree_control", cur, sizeof(cur))) < 0)
		return r;
	unsigned enabled = nscg_ctrl_mask(cur, NULL);
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		unsigned bit = nscg_ctrl_mask(want[i], NULL);
		if ((h->ctrls & bit) && !(enabled & bit))
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s+%s", o ? " " : "",
					      want[i]);
	}
	return o ? nscg_write_at(parent, "cgroup.subtree_control", line) : 0;
}

/* Linux >= 5.14; written rather than checked for, as whether the real
 * uid may write it says nothing (under su that is the user's). */
static int v2_kill_all(const struct nscg_hier *h, int dirfd)
{
	int r = nscg_write_at(dirfd, "cgroup.kill", "1");

	return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int v2_freeze(const struct nscg_hier *h, int dirfd, bool frozen)
{
	int r = nscg_write_at(dirfd, "cgroup.freeze", frozen ? "1" : "0");

	return r == -ENOENT ? -EOPNOTSUPP : r;
}

/* Options of a cgroup2 mount outside the initial cgroup namespace are
 * ignored: none are given. */
static int v2_mount(const struct nscg_hier *h, const char *where, unsigned long flags)
{
	return mount("cgroup2", where, "cgroup2", flags, NULL) < 0 ? -errno : 0;
}

const struct nscg_backend nscg_backend_v2 = {
	.name = "v2",
	.used = v2_used,
	.owns_line = v2_owns_line,
	.prepare = v2_prepare,
	.apply = v2_apply,
	.usage = v2_usage,
	.kill_all = v2_kill_all,
	.freeze = v2_freeze,
	.mount = v2_mount,
};
