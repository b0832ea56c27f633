/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resolving the policy for one login: user over group over default over
 * built-in, the most generous group value for each limit. */
#include "policy-internal.h"

#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The values of all sections matching pred, later sections and lines
 * overriding earlier ones. pos[] tracks the winning entry's position. */
static void layer_collect(const struct nscg_policy *p, enum section_type type,
			  const char *name, struct nscg_value *layer,
			  unsigned *pos)
{
	for (size_t i = 0; i < p->nsections; i++) {
		const struct section *s = p->sections[i];
		if (s->type != type || (name && strcmp(s->name, name)))
			continue;
		for (const struct entry *e = s->entries; e; e = e->next) {
			if (e->pos + 1 > pos[e->key]) {
				layer[e->key] = e->v;
				pos[e->key] = e->pos + 1;
			}
		}
	}
}

/* Merge group g's layer into the union of groups in acc. */
static void merge_group(enum nscg_key k, struct nscg_value *acc, unsigned *accpos,
			const struct nscg_value *g, unsigned gpos,
			struct nscg_resolved *out)
{
	if (!acc->set) {
		*acc = *g;
		*accpos = gpos;
		return;
	}
	if (!nscg_keys[k].limit) {
		/* Not a limit: the group section read last wins. */
		if (gpos > *accpos) {
			*acc = *g;
			*accpos = gpos;
		}
		return;
	}
	if (nscg_keys[k].type == T_CPUSET) {
		/* The union of every group's CPUs, kept in out. */
		struct nscg_cpuset *u = &out->united[(k - NSCG_KEY_LIMITS) / NSCG_LIMIT_COUNT];
		if (acc->cpus != u)
			*u = *acc->cpus;
		nscg_cpuset_union(u, g->cpus);
		acc->cpus = u;
		acc->origin.merged++;
		return;
	}
	/* Every other limit: the larger number, max (UINT64_MAX) above all. */
	if (g->num > acc->num) {
		*acc = *g;
		*accpos = gpos;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int nscg_policy_resolve(const struct nscg_policy *p,
			const struct nscg_request *req,
			struct nscg_resolved *out)
{
	struct nscg_value user[NSCG_KEY_COUNT] = { 0 };
	struct nscg_value groups[NSCG_KEY_COUNT] = { 0 };
	struct nscg_value deflt[NSCG_KEY_COUNT] = { 0 };
	unsigned upos[NSCG_KEY_COUNT] = { 0 }, dpos[NSCG_KEY_COUNT] = { 0 };
	unsigned gpos[NSCG_KEY_COUNT] = { 0 };

	memset(out, 0, sizeof(*out));
	if (!req->user || !nscg_name_is_valid(req->user))
		return -EINVAL;

	layer_collect(p, SEC_DEFAULT, NULL, deflt, dpos);
	layer_collect(p, SEC_USER, req->user, user, upos);
	/* Each group once, whatever NSS repeats: a sorted copy. */
	const char **g = req->ngroups ? malloc(req->ngroups * sizeof(*g)) : NULL;
	size_t ng = 0;
	if (req->ngroups && !g)
		return -ENOMEM;
	for (size_t i = 0; i < req->ngroups; i++)
		if (req->groups[i])
			g[ng++] = req->groups[i];
	if (ng)
		qsort(g, ng, sizeof(*g), cmp_str);
	for (size_t i = 0; i < ng; i++) {
		struct nscg_value one[NSCG_KEY_COUNT] = { 0 };
		unsigned opos[NSCG_KEY_COUNT] = { 0 };

		if (i > 0 && !strcmp(g[i], g[i - 1]))
			continue;
		layer_collect(p, SEC_GROUP, g[i], one, opos);
		for (int k = NSCG_KEY_FIRST_SCOPED; k < NSCG_KEY_COUNT; k++)
			if (one[k].set)
				merge_group((enum nscg_key)k, &groups[k], &gpos[k], &one[k],
					    opos[k], out);
	}
	free(g);

	for (int k = 0; k < NSCG_KEY_COUNT; k++) {
		if (k < NSCG_KEY_FIRST_SCOPED)
			out->v[k] = p->global[k];
		else if (user[k].set)
			out->v[k] = user[k];
		else if (groups[k].set)
			out->v[k] = groups[k];
		else if (deflt[k].set)
			out->v[k] = deflt[k];
		else
			out->v[k] = p->defaults[k];
	}
	if (req->service &&
	    nscg_word_in_list(out->v[NSCG_KEY_SKIP_SERVICES].str, req->service)) {
		out->exempt = true;
		out->exempt_why = "the PAM service is listed in skip_services";
	} else if (!out->v[NSCG_KEY_ENABLED].num) {
		out->exempt = true;
		out->exempt_why = "enabled = no";
	}
	return 0;
}

void nscg_resolved_limits(const struct nscg_resolved *r, enum nscg_level level,
			  struct nscg_limits *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < NSCG_LIMIT_COUNT; k++) {
		const struct nscg_value *v = &r->v[nscg_limit_key(level, (enum nscg_limit)k)];
		out->set[k] = v->set;
		out->num[k] = v->num;
		if (k == NSCG_CPUSET_CPUS && v->set && v->cpus)
			out->cpus = *v->cpus;
	}
	if (level != NSCG_LEVEL_SESSION)
		return;
	const struct nscg_value *user = &r->v[nscg_limit_key(NSCG_LEVEL_USER, NSCG_CPU_MAX)];
	if (user->set && user->num != NSCG_UNLIMITED && out->set[NSCG_CPU_MAX] &&
	    out->num[NSCG_CPU_MAX] > user->num)
		out->num[NSCG_CPU_MAX] = user->num;
}
