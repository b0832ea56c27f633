/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the policy parser accepts, for the documentation tests
 * (tests/pkg/man.sh), straight from lib/policy.c:
 *
 *   policy-keys keys        one line per key: NAME, global or scoped, and
 *                           the built-in default as written ("unset" when
 *                           there is none), separated by tabs
 *   policy-keys check FILE  load FILE and its drop-ins as the module would,
 *                           trusting files owned by the caller; print the
 *                           diagnostics, exit 1 on errors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

static int load(const char *path, struct nscg_policy **p)
{
	struct nscg_load_opts opts = { .trusted_uid = getuid() };

	if (nscg_policy_load(path, &opts, p) < 0) {
		fprintf(stderr, "policy-keys: cannot load %s\n", path);
		return -1;
	}
	return 0;
}

static int list_keys(void)
{
	char path[] = "/tmp/nscg-keys-XXXXXX";
	const char *none[] = { NULL };
	struct nscg_request req = { .user = "nscg-no-such-user", .groups = none };
	struct nscg_resolved res;
	struct nscg_policy *p;
	int fd = mkstemp(path);

	/* An empty policy: every value is the built-in default. */
	if (fd < 0) {
		perror("policy-keys: mkstemp");
		return 2;
	}
	close(fd);
	int r = load(path, &p);
	unlink(path);
	if (r < 0 || nscg_policy_resolve(p, &req, &res) < 0)
		return 2;
	for (int k = 0; k < NSCG_KEY_COUNT; k++) {
		const struct nscg_value *v = &res.v[k];
		printf("%s\t%s\t%s\n", nscg_key_name((enum nscg_key)k),
		       k < NSCG_KEY_FIRST_SCOPED ? "global" : "scoped",
		       v->set ? v->text : "unset");
	}
	nscg_policy_free(p);
	return 0;
}

static int check(const char *path)
{
	struct nscg_policy *p;

	if (load(path, &p) < 0)
		return 2;
	for (size_t i = 0; i < nscg_policy_diag_count(p); i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		printf("%s:%u: %s: %s\n", d->file ? d->file : "?", d->line,
		       d->error ? "error" : "warning", d->msg);
	}
	int errors = nscg_policy_errors(p) != 0;
	nscg_policy_free(p);
	return errors;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "keys"))
		return list_keys();
	if (argc == 3 && !strcmp(argv[1], "check"))
		return check(argv[2]);
	fprintf(stderr, "usage: policy-keys keys | policy-keys check FILE\n");
	return 2;
}
