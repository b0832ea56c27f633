/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dialect check: iniparser reads the very bytes the line scanner
 * read, and every key the scanner recorded must hold the value iniparser
 * stores for it. nscgctl check and explain and the fuzz target run it;
 * the module does not, so a login parses each file once and the module
 * links no iniparser. */
#include "policy-internal.h"
#include "policy-ini.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <iniparser/iniparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int iniparser_quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* Hand exactly these bytes to iniparser, which only takes a path: a
 * sealed memfd reached through /proc. iniparser fopen()s it without
 * O_CLOEXEC and closes it before returning; the tools that run this are
 * single-threaded, so no exec can inherit it. Returns 0 or -errno of our
 * own steps; *out is NULL when iniparser itself refused the bytes. */
static int ini_load_bytes(const char *buf, size_t len, dictionary **out)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int r;

	*out = NULL;
	fd = memfd_create("nscg-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if ((r = nscg_write_all(fd, buf, len)) < 0)
		return r;
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (faccessat(AT_FDCWD, path, R_OK, 0) < 0)
		return -errno; /* no /proc */
	/* iniparser would otherwise print its own messages to stderr; the
	 * callback is process-wide, which only a tool may set. */
	iniparser_set_error_callback(iniparser_quiet);
	*out = iniparser_load(path);
	return 0;
}

/* A sorted view of a dictionary: iniparser_getstring() is a linear scan,
 * which makes a large policy quadratic. */
struct ini_pair {
	const char *key, *val;
};

struct ini_index {
	struct ini_pair *pairs;
	size_t n;
};

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct ini_pair *)a)->key,
		      ((const struct ini_pair *)b)->key);
}

static int ini_index_build(struct ini_index *ix, const dictionary *d)
{
	ix->n = 0;
	ix->pairs = malloc(((size_t)d->size + 1) * sizeof(*ix->pairs));
	if (!ix->pairs)
		return -ENOMEM;
	for (ssize_t i = 0; i < d->size; i++)
		if (d->key[i])
			ix->pairs[ix->n++] = (struct ini_pair){ d->key[i], d->val[i] };
	qsort(ix->pairs, ix->n, sizeof(*ix->pairs), cmp_pair);
	return 0;
}

/* The value stored for "section:key", or NULL if there is none. */
static const char *ini_index_get(const struct ini_index *ix, const char *key)
{
	const struct ini_pair k = { key, NULL };
	const struct ini_pair *hit = bsearch(&k, ix->pairs, ix->n,
					     sizeof(*ix->pairs), cmp_pair);
	return hit ? hit->val : NULL;
}

void nscg_policy_check_dialect(struct nscg_policy *p, const struct nscg_policy_file *f)
{
	struct section *const *mine = f->sections;
	const char *file = f->name;
	struct ini_index ix = { 0 };
	dictionary *d;
	int r = ini_load_bytes(f->buf, f->len, &d);

	if (r < 0) {
		nscg_diag_add(p, true, file, 0, "cannot hand the file to iniparser: %s",
			      strerror(-r));
		return;
	}
	if (!d) {
		nscg_diag_add(p, true, file, 0, "iniparser could not load this file");
		return;
	}
	if (ini_index_build(&ix, d) < 0) {
		p->oom = true;
		iniparser_freedict(d);
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		for (struct entry *e = mine[i] ? mine[i]->entries : NULL; e;
		     e = e->next) {
			char key[2 * POLICY_MAX_LINE + 2];
			snprintf(key, sizeof(key), "%s:%s", mine[i]->lower,
				 nscg_keys[e->key].name);
			const char *val = ini_index_get(&ix, key);
			if (!val || strcmp(val, e->v.text))
				nscg_diag_add(p, true, file, e->v.origin.line,
					      "iniparser reads this line differently; write it as 'key = value'");
		}
	}
	free(ix.pairs);
	iniparser_freedict(d);
}
