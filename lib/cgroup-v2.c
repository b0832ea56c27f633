/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The unified (v2) hierarchy: the policy's names are the kernel's. */
#include "cgroup.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void fmt_max(uint64_t v, char *buf, size_t len)
{
	if (v == NSCG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Write file if this hierarchy carries ctrl; a file the kernel does not
 * offer (ENOENT) leaves the limit not done rather than failing. */
static int put(const struct nscg_hier *h, int dirfd, unsigned ctrl,
	       const char *file, const char *val, bool *done)
{
	if (!(h->ctrls & ctrl))
		return 0;
	int r = nscg_write_at(dirfd, file, val);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	*done = true;
	return 0;
}

static int v2_apply(const struct nscg_hier *h, int dirfd,
		    const struct nscg_limits *lim, bool *done)
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
		r = put(h, dirfd, plain[i].ctrl, plain[i].file, val, &done[k]);
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
		r = put(h, dirfd, NSCG_CTRL_CPU, "cpu.max", val, &done[NSCG_CPU_MAX]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_IO_WEIGHT]) {
		snprintf(val, sizeof(val), "default %llu",
			 (unsigned long long)lim->num[NSCG_IO_WEIGHT]);
		r = put(h, dirfd, NSCG_CTRL_IO, "io.weight", val, &done[NSCG_IO_WEIGHT]);
		if (r < 0)
			return r;
	}
	if (lim->set[NSCG_CPUSET_CPUS]) {
		char cpus[4096];
		nscg_cpuset_format(&lim->cpus, cpus, sizeof(cpus));
		r = put(h, dirfd, NSCG_CTRL_CPUSET, "cpuset.cpus", cpus, &done[NSCG_CPUSET_CPUS]);
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
	if (h->ctrls & NSCG_CTRL_MEMORY) {
		if (nscg_read_u64_at(dirfd, "memory.peak", &v) == 0)
			u->mem_peak = v;
		if (nscg_read_keyed(dirfd, "memory.events", "oom_kill", &v) == 0)
			u->oom_kills = v;
	}
}

const struct nscg_backend nscg_backend_v2 = {
	.name = "v2",
	.apply = v2_apply,
	.usage = v2_usage,
};
