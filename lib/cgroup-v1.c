/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Legacy (v1) hierarchies: the policy's v2 names mapped onto the v1
 * files of whichever controllers this hierarchy carries. */
#include "cgroup.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#define put(dirfd, file, val, done) nscg_cgroup_put(dirfd, file, val, plan, done)

static void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	if (v == NSCG_UNLIMITED)
		snprintf(buf, len, "-1");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int v1_memory(int dirfd, const struct nscg_limits *lim, bool *done,
		     struct nscg_apply_plan *plan)
{
	char val[32];
	int r;

	/* v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes: a
	 * live session's memory raised above its memsw needs memsw first. */
	char memsw[32] = "";
	if (lim->set[NSCG_MEMORY_SWAP_MAX] && lim->set[NSCG_MEMORY_MAX]) {
		uint64_t swap = lim->num[NSCG_MEMORY_SWAP_MAX], mem = lim->num[NSCG_MEMORY_MAX];
		/* The policy bounds both (NSCG_MEMORY_CEIL); never wrap anyway. */
		fmt_bytes(mem == NSCG_UNLIMITED || swap == NSCG_UNLIMITED || swap > UINT64_MAX - mem ?
				  NSCG_UNLIMITED : mem + swap,
			  memsw, sizeof(memsw));
	}
	if (lim->set[NSCG_MEMORY_MAX]) {
		fmt_bytes(lim->num[NSCG_MEMORY_MAX], val, sizeof(val));
		r = put(dirfd, "memory.limit_in_bytes", val, &done[NSCG_MEMORY_MAX]);
		if (r == -EINVAL && memsw[0] &&
		    (r = put(dirfd, "memory.memsw.limit_in_bytes", memsw, &done[NSCG_MEMORY_SWAP_MAX])) == 0)
			r = put(dirfd, "memory.limit_in_bytes", val, &done[NSCG_MEMORY_MAX]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_MEMORY_HIGH]) {
		/* The nearest v1 has: reclaim pressure above it. */
		fmt_bytes(lim->num[NSCG_MEMORY_HIGH], val, sizeof(val));
		r = put(dirfd, "memory.soft_limit_in_bytes", val,
			&done[NSCG_MEMORY_HIGH]);
		if (r < 0)
			return r;
	}
	/* v1 limits memory+swap together: memsw = max + swap, so swap can
	 * only be limited under a finite memory.max (an unlimited one lifts
	 * memsw too, as a live session's may have had one). */
	if (memsw[0] && (lim->num[NSCG_MEMORY_MAX] != NSCG_UNLIMITED || plan)) {
		r = put(dirfd, "memory.memsw.limit_in_bytes", memsw, &done[NSCG_MEMORY_SWAP_MAX]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_cpu(int dirfd, const struct nscg_limits *lim, bool *done,
		  struct nscg_apply_plan *plan)
{
	char val[32];
	int r;

	if (lim->set[NSCG_CPU_MAX]) {
		r = put(dirfd, "cpu.cfs_period_us", "100000", &done[NSCG_CPU_MAX]);
		if (r < 0)
			return r;
		if (lim->num[NSCG_CPU_MAX] == NSCG_UNLIMITED)
			snprintf(val, sizeof(val), "-1");
		else
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)lim->num[NSCG_CPU_MAX] * 1000);
		r = put(dirfd, "cpu.cfs_quota_us", val, &done[NSCG_CPU_MAX]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_CPU_WEIGHT]) {
		/* weight 100 is shares 1024, the defaults of each. */
		uint64_t shares = lim->num[NSCG_CPU_WEIGHT] * 1024 / 100;
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)(shares < 2 ? 2 : shares));
		r = put(dirfd, "cpu.shares", val, &done[NSCG_CPU_WEIGHT]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_apply(const struct nscg_hier *h, int dirfd, const struct nscg_limits *lim,
		    bool *done, struct nscg_apply_plan *plan)
{
	char val[32];
	int r = 0;

	if (h->ctrls & NSCG_CTRL_MEMORY && (r = v1_memory(dirfd, lim, done, plan)) < 0)
		return r;
	if (h->ctrls & NSCG_CTRL_CPU && (r = v1_cpu(dirfd, lim, done, plan)) < 0)
		return r;
	if (h->ctrls & NSCG_CTRL_PIDS && lim->set[NSCG_PIDS_MAX]) {
		if (lim->num[NSCG_PIDS_MAX] == NSCG_UNLIMITED)
			snprintf(val, sizeof(val), "max");
		else
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)lim->num[NSCG_PIDS_MAX]);
		if ((r = put(dirfd, "pids.max", val, &done[NSCG_PIDS_MAX])) < 0)
			return r;
	}
	if (h->ctrls & NSCG_CTRL_IO && lim->set[NSCG_IO_WEIGHT]) {
		/* blkio.weight spans 10..1000 where io.weight spans 1..10000. */
		uint64_t w = lim->num[NSCG_IO_WEIGHT] / 10;
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)(w < 10 ? 10 : w > 1000 ? 1000 : w));
		r = put(dirfd, "blkio.weight", val, &done[NSCG_IO_WEIGHT]);
		if (r == 0 && !done[NSCG_IO_WEIGHT])
			r = put(dirfd, "blkio.bfq.weight", val, &done[NSCG_IO_WEIGHT]);
		if (r < 0)
			return r;
	}
	if (h->ctrls & NSCG_CTRL_CPUSET && lim->set[NSCG_CPUSET_CPUS]) {
		char cpus[4096];
		nscg_cpuset_format(&lim->cpus, cpus, sizeof(cpus));
		r = put(dirfd, "cpuset.cpus", cpus, &done[NSCG_CPUSET_CPUS]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* v1 shows "no limit" as the largest page counter in bytes
 * (PAGE_COUNTER_MAX pages, about 2^63): anything from 2^62 on is none. */
#define V1_UNLIMITED_FROM (1ull << 62)

static void v1_usage(const struct nscg_hier *h, int dirfd, struct nscg_usage *u)
{
	uint64_t v;

	if (h->ctrls & NSCG_CTRL_CPUACCT &&
	    nscg_read_u64_at(dirfd, "cpuacct.usage", &v) == 0)
		u->cpu_usec = v / 1000;
	if (h->ctrls & NSCG_CTRL_CPU) {
		if (nscg_read_keyed(dirfd, "cpu.stat", "nr_throttled", &v) == 0)
			u->nr_throttled = v;
		if (nscg_read_keyed(dirfd, "cpu.stat", "throttled_time", &v) == 0)
			u->throttled_usec = v / 1000;
	}
	if (h->ctrls & NSCG_CTRL_MEMORY) {
		if (nscg_read_u64_at(dirfd, "memory.usage_in_bytes", &v) == 0)
			u->mem_current = v;
		if (nscg_read_u64_at(dirfd, "memory.max_usage_in_bytes", &v) == 0)
			u->mem_peak = v;
		if (nscg_read_u64_at(dirfd, "memory.limit_in_bytes", &v) == 0)
			u->mem_max = v >= V1_UNLIMITED_FROM ? NSCG_UNLIMITED : v;
		if (nscg_read_keyed(dirfd, "memory.oom_control", "oom_kill", &v) == 0)
			u->oom_kills = v;
	}
}

/* Hierarchies with controllers; named ones (name=systemd) belong to
 * their manager and are left alone. */
static bool v1_used(const struct nscg_hier *h)
{
	return h->ctrls && !h->named;
}

/* A v1 line lists the hierarchy's controllers, as its mount directory
 * under /sys/fs/cgroup is named ("cpu,cpuacct"). */
static bool v1_owns_line(const struct nscg_hier *h, const char *ctrls)
{
	const char *slash = strrchr(h->mount, '/');

	return *ctrls && !strcmp(ctrls, slash ? slash + 1 : h->mount);
}

/* v1 cpuset: a new cgroup starts with no CPUs and no memory nodes, and
 * no task can join it; start from the parent's. */
static int v1_prepare(const struct nscg_hier *h, int parent, int child)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char val[4096];
	int r;

	if (!(h->ctrls & NSCG_CTRL_CPUSET))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		if ((r = nscg_read_at(child, files[i], val, sizeof(val))) < 0)
			return r;
		if (r > 1)
			continue; /* already set */
		if ((r = nscg_read_at(parent, files[i], val, sizeof(val))) < 0 ||
		    (r = nscg_write_at(child, files[i], val)) < 0)
			return r;
	}
	return 0;
}

static int v1_kill_all(const struct nscg_hier *h, int dirfd)
{
	return -EOPNOTSUPP;
}

static int v1_freeze(const struct nscg_hier *h, int dirfd, bool frozen)
{
	if (!(h->ctrls & NSCG_CTRL_FREEZER))
		return -EOPNOTSUPP;
	return nscg_write_at(dirfd, "freezer.state", frozen ? "FROZEN" : "THAWED");
}

/* The host's super options without rw/ro: the exact set the kernel
 * wants again (another set is EBUSY, a new hierarchy EPERM). */
static int v1_mount(const struct nscg_hier *h, const char *where, unsigned long flags)
{
	char opts[sizeof(h->opts)];
	size_t o = 0;

	opts[0] = '\0';
	for (const char *c = h->opts; *c;) {
		size_t n = strcspn(c, ",");
		bool skip = n == 2 && (!strncmp(c, "rw", 2) || !strncmp(c, "ro", 2));
		if (!skip && o + n + 2 < sizeof(opts)) {
			if (o)
				opts[o++] = ',';
			memcpy(opts + o, c, n);
			o += n;
			opts[o] = '\0';
		}
		c += n + (c[n] == ',');
	}
	return mount("cgroup", where, "cgroup", flags, opts) < 0 ? -errno : 0;
}

const struct nscg_backend nscg_backend_v1 = {
	.name = "v1",
	.used = v1_used,
	.owns_line = v1_owns_line,
	.prepare = v1_prepare,
	.apply = v1_apply,
	.usage = v1_usage,
	.kill_all = v1_kill_all,
	.freeze = v1_freeze,
	.mount = v1_mount,
};
