/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct nscg_arena_chunk {
	struct nscg_arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

void *nscg_arena_alloc(struct nscg_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct nscg_arena_chunk *c = a->head;

	n = (n + align - 1) / align * align;
	if (!c || c->size - c->used < n) {
		size_t size = n > 60000 ? n : 60000;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *nscg_arena_strndup(struct nscg_arena *a, const char *s, size_t n)
{
	char *p = nscg_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *nscg_arena_strdup(struct nscg_arena *a, const char *s)
{
	return nscg_arena_strndup(a, s, strlen(s));
}

void nscg_arena_free(struct nscg_arena *a)
{
	while (a->head) {
		struct nscg_arena_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

int nscg_vec_grow(void *vp, size_t *cap, size_t n, size_t elem)
{
	void **v = vp;

	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}
