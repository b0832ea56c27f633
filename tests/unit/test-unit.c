/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-unit.h"
#include "policy-ini.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static bool failed;
static char dir[64];

void t_fail(const char *file, int line, const char *what)
{
	printf("    %s:%d: assertion failed: %s\n", file, line, what);
	failed = true;
}

const char *t_dir(void)
{
	return dir;
}

const char *t_path(const char *rel)
{
	static char buf[4][4096];
	static int slot;

	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, rel);
	return buf[slot];
}

const char *t_write(const char *rel, const char *content, unsigned mode)
{
	const char *path = t_path(rel);
	char tmp[4096];

	/* mkdir -p of the parent, 0755. */
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(tmp, 0755) == 0)
			chmod(tmp, 0755);
		*s = '/';
	}
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	if (nscg_write_all(fd, content, strlen(content)) < 0 ||
	    fchmod(fd, mode) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

struct nscg_policy *t_load_with(const char *rel, nscg_dialect_check_fn *check)
{
	struct nscg_load_opts opts = {
		.physmem = 16ull << 30, .trusted_uid = geteuid(), .lint = true,
		.dialect_check = check,
	};
	struct nscg_policy *p = NULL;

	if (nscg_policy_load(t_path(rel), &opts, &p) < 0) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

struct nscg_policy *t_load(const char *rel)
{
	return t_load_with(rel, nscg_policy_check_dialect);
}

bool t_has_diag(const struct nscg_policy *p, bool error, const char *file,
		unsigned line, const char *text)
{
	for (size_t i = 0; i < nscg_policy_diag_count(p); i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		size_t fl = d->file ? strlen(d->file) : 0, l = strlen(file);
		if (d->error != error || (line && d->line != line))
			continue;
		if (fl < l || strcmp(d->file + fl - l, file))
			continue;
		if (strstr(d->msg, text))
			return true;
	}
	return false;
}

void t_dump(const struct nscg_policy *p)
{
	for (size_t i = 0; i < nscg_policy_diag_count(p); i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		printf("    | %s:%u: %s: %s\n", d->file, d->line,
		       d->error ? "error" : "warning", d->msg);
	}
}

static int rm_rf(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

int main(int argc, char **argv)
{
	const struct test *suites[] = { util_tests, policy_tests };
	unsigned pass = 0, fail = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	snprintf(dir, sizeof(dir), "/tmp/nscg-unit-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0) {
		perror("mkdtemp");
		return 2;
	}
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		for (const struct test *t = suites[s]; t->name; t++) {
			if (only && !strstr(t->name, only))
				continue;
			failed = false;
			t->fn();
			printf("%s: %s\n", failed ? "FAIL" : "PASS", t->name);
			if (failed)
				fail++;
			else
				pass++;
		}
	}
	rm_rf(dir);
	printf("unit: %u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
