/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The limits of one cgroup level (a user or a session) as pam_nscg means
 * them on any host: the vocabulary the policy, the cgroup backends and
 * systemd mode share. The names are cgroup v2's; each backend says them
 * in its own terms (v1 files, systemd unit properties). */
#ifndef NSCG_LIMITS_H
#define NSCG_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "max": no limit, for every numeric limit. */
#define NSCG_UNLIMITED UINT64_MAX

enum nscg_limit {
	NSCG_MEMORY_MAX, /* bytes */
	NSCG_MEMORY_HIGH, /* bytes */
	NSCG_MEMORY_SWAP_MAX, /* bytes */
	NSCG_CPU_MAX, /* percent of one CPU */
	NSCG_CPU_WEIGHT, /* 1..10000 */
	NSCG_PIDS_MAX, /* tasks */
	NSCG_IO_WEIGHT, /* 1..10000 */
	NSCG_CPUSET_CPUS, /* the CPU set below */
	NSCG_LIMIT_COUNT,
};

/* CPUs 0 to NSCG_MAX_CPUS - 1 as a bitmap. */
#define NSCG_MAX_CPUS 1024

struct nscg_cpuset {
	uint64_t w[NSCG_MAX_CPUS / 64];
};

/* The limits of one level; num[k] and cpus mean something where set[k]. */
struct nscg_limits {
	bool set[NSCG_LIMIT_COUNT];
	uint64_t num[NSCG_LIMIT_COUNT];
	struct nscg_cpuset cpus;
};

/* The limit's name as the policy writes it after "user." or "session.",
 * e.g. "memory.max". */
const char *nscg_limit_name(enum nscg_limit limit);

/* Parse a CPU list ("0-3,8") into *set: -EINVAL for bad syntax (an empty
 * list too), -ERANGE for a CPU beyond NSCG_MAX_CPUS or a range upside down. */
int nscg_cpuset_parse(const char *s, struct nscg_cpuset *set);

/* The canonical list ("0-3,8"); "" for an empty set. */
void nscg_cpuset_format(const struct nscg_cpuset *set, char *buf, size_t len);

/* *a |= *b. */
void nscg_cpuset_union(struct nscg_cpuset *a, const struct nscg_cpuset *b);

/* The set as systemd's AllowedCPUs byte mask (bit b of byte i is CPU
 * 8*i+b) into mask of cap bytes: the bytes used, up to the last CPU set
 * (0 for an empty set), or -ERANGE if they do not fit. */
int nscg_cpuset_to_bytes(const struct nscg_cpuset *set, uint8_t *mask, size_t cap);

#endif
