/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "limits.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const limit_names[NSCG_LIMIT_COUNT] = {
	[NSCG_MEMORY_MAX] = "memory.max",
	[NSCG_MEMORY_HIGH] = "memory.high",
	[NSCG_MEMORY_SWAP_MAX] = "memory.swap.max",
	[NSCG_CPU_MAX] = "cpu.max",
	[NSCG_CPU_WEIGHT] = "cpu.weight",
	[NSCG_PIDS_MAX] = "pids.max",
	[NSCG_IO_WEIGHT] = "io.weight",
	[NSCG_CPUSET_CPUS] = "cpuset.cpus",
};

const char *nscg_limit_name(enum nscg_limit limit)
{
	return (unsigned)limit < NSCG_LIMIT_COUNT ? limit_names[limit] : "?";
}

static bool cpu_isset(const struct nscg_cpuset *set, unsigned c)
{
	return set->w[c / 64] & (1ull << (c % 64));
}

int nscg_cpuset_parse(const char *s, struct nscg_cpuset *set)
{
	memset(set, 0, sizeof(*set));
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		lo = strtoul(s, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= NSCG_MAX_CPUS)
			return -ERANGE;
		for (unsigned long c = lo; c <= hi; c++)
			set->w[c / 64] |= 1ull << (c % 64);
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -EINVAL;
		s = end;
	}
	return 0;
}

void nscg_cpuset_format(const struct nscg_cpuset *set, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned c = 0; c < NSCG_MAX_CPUS; c++) {
		if (!cpu_isset(set, c))
			continue;
		unsigned end = c;
		while (end + 1 < NSCG_MAX_CPUS && cpu_isset(set, end + 1))
			end++;
		int n = end == c ? snprintf(buf + o, len - o, "%s%u", o ? "," : "", c) :
				   snprintf(buf + o, len - o, "%s%u-%u", o ? "," : "", c, end);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
		c = end;
	}
}

void nscg_cpuset_union(struct nscg_cpuset *a, const struct nscg_cpuset *b)
{
	for (size_t i = 0; i < sizeof(a->w) / sizeof(a->w[0]); i++)
		a->w[i] |= b->w[i];
}

int nscg_cpuset_to_bytes(const struct nscg_cpuset *set, uint8_t *mask, size_t cap)
{
	size_t used = 0;

	memset(mask, 0, cap);
	for (unsigned c = 0; c < NSCG_MAX_CPUS; c++) {
		if (!cpu_isset(set, c))
			continue;
		if (c / 8 >= cap)
			return -ERANGE;
		mask[c / 8] |= (uint8_t)(1u << (c % 8));
		used = c / 8 + 1;
	}
	return (int)used;
}
