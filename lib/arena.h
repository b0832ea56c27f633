/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A bump allocator: every string and record of a loaded policy lives in
 * one arena and goes with it at once. And a growing array. */
#ifndef NSCG_ARENA_H
#define NSCG_ARENA_H

#include <stddef.h>

struct nscg_arena_chunk;

struct nscg_arena {
	struct nscg_arena_chunk *head;
};

/* n bytes, aligned for any type; NULL when out of memory. */
void *nscg_arena_alloc(struct nscg_arena *a, size_t n);
char *nscg_arena_strndup(struct nscg_arena *a, const char *s, size_t n);
char *nscg_arena_strdup(struct nscg_arena *a, const char *s);
/* Everything allocated from a; a is empty again. */
void nscg_arena_free(struct nscg_arena *a);

/* Make room for one more element in the malloc'd array *vp of *cap
 * elements holding n: doubles the capacity when full. -ENOMEM. */
int nscg_vec_grow(void *vp, size_t *cap, size_t n, size_t elem);

#endif
