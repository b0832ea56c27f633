/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a login pays for the policy: load + resolve of a large policy
 * (2,000 user sections, 300 group sections, a user in 40 groups), beside
 * load + resolve of an empty file and a raw iniparser_load of the same
 * large file, all measured in this run. Prints medians and p90. */
#include <fcntl.h>
#include <iniparser/iniparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

#define USERS 2000
#define GROUPS 300
#define MEMBER_OF 40

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || nscg_write_all(fd, text, strlen(text)) < 0 ||
	    fchmod(fd, 0644) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static char *big_policy(void)
{
	size_t cap = 1 << 20, o = 0;
	char *s = malloc(cap);

	if (!s)
		exit(1);
#define ADD(...)                                                               \
	do {                                                                   \
		if (cap - o < 512 && !(s = realloc(s, cap *= 2)))              \
			exit(1);                                               \
		o += (size_t)snprintf(s + o, cap - o, __VA_ARGS__);            \
	} while (0)
	ADD("[global]\non_error = deny\n[default]\nsession.memory.max = 4G\n"
	    "session.pids.max = 1024\nuser.memory.max = 25%%\n");
	for (int i = 0; i < USERS; i++)
		ADD("[user:user%d]\nsession.memory.max = %dM\n"
		    "session.pids.max = %d\nhostname = u%d-%%h\n",
		    i, 512 + i, 100 + i, i);
	for (int i = 0; i < GROUPS; i++)
		ADD("[group:group%d]\nsession.memory.max = %dM\n"
		    "session.cpu.max = %d%%\nsession.cpuset.cpus = %d\n",
		    i, 1024 + i, 100 + i, i % 64);
	return s;
}

typedef void (*bench_fn)(const char *path, const char *const *groups);

static void load_resolve(const char *path, const char *const *groups)
{
	struct nscg_load_opts opts = { .trusted_uid = geteuid() };
	struct nscg_request req = { .user = "user1999", .groups = groups,
				    .ngroups = MEMBER_OF, .service = "sshd" };
	struct nscg_policy *p;
	struct nscg_resolved r;

	if (nscg_policy_load(path, &opts, &p) < 0 || nscg_policy_errors(p) ||
	    nscg_policy_resolve(p, &req, &r) < 0) {
		fprintf(stderr, "bench: the policy did not load cleanly\n");
		exit(1);
	}
	nscg_policy_free(p);
}

static int quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static void raw_iniparser(const char *path, const char *const *groups)
{
	(void)groups;
	iniparser_set_error_callback(quiet);
	dictionary *d = iniparser_load(path);
	if (!d)
		exit(1);
	iniparser_freedict(d);
}

static void measure(const char *label, bench_fn fn, const char *path,
		    const char *const *groups, int runs)
{
	double *t = malloc(sizeof(*t) * (size_t)runs);

	if (!t)
		exit(1);
	fn(path, groups); /* warm the page cache */
	for (int i = 0; i < runs; i++) {
		double a = now_us();
		fn(path, groups);
		t[i] = now_us() - a;
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("%-44s %10.1f %10.1f %6d\n", label, t[runs / 2],
	       t[runs * 9 / 10], runs);
	free(t);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 100;
	char dir[] = "/tmp/nscg-bench-XXXXXX", big[64], empty[64];
	const char *groups[MEMBER_OF];
	char names[MEMBER_OF][16];

	if (runs < 1 || !mkdtemp(dir))
		return 1;
	snprintf(big, sizeof(big), "%s/big.conf", dir);
	snprintf(empty, sizeof(empty), "%s/empty.conf", dir);
	char *text = big_policy();
	write_file(big, text);
	write_file(empty, "");
	for (int i = 0; i < MEMBER_OF; i++) {
		snprintf(names[i], sizeof(names[i]), "group%d", i * 7);
		groups[i] = names[i];
	}
	printf("policy: %d user sections, %d group sections, %zu bytes; user in %d groups\n",
	       USERS, GROUPS, strlen(text), MEMBER_OF);
	printf("%-44s %10s %10s %6s\n", "", "median us", "p90 us", "runs");
	measure("baseline: load + resolve, empty file", load_resolve, empty,
		groups, runs);
	measure("baseline: iniparser_load alone, large file", raw_iniparser,
		big, groups, runs);
	measure("pam_nscg: load + resolve, large file", load_resolve, big,
		groups, runs);
	free(text);
	unlink(big);
	unlink(empty);
	rmdir(dir);
	return 0;
}
