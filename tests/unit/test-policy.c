/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy engine: parsing, units, line numbers, precedence, the
 * multi-group rule, permissions, case and hostile names. Every test
 * writes its own files into a private directory. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy-ini.h"
#include "policy-internal.h"
#include "test-unit.h"
#include "util.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Resolve for user in groups; the result must be freed by the caller. */
static int resolve(const struct nscg_policy *p, const char *user,
		   const char *const *groups, size_t n, const char *service,
		   struct nscg_resolved *r)
{
	struct nscg_request req = {
		.user = user, .groups = groups, .ngroups = n, .service = service,
	};
	return nscg_policy_resolve(p, &req, r);
}

static uint64_t num(const struct nscg_resolved *r, enum nscg_level l,
		    enum nscg_limit k)
{
	return r->v[nscg_limit_key(l, k)].num;
}

static const struct nscg_value *val(const struct nscg_resolved *r,
				    enum nscg_level l, enum nscg_limit k)
{
	return &r->v[nscg_limit_key(l, k)];
}

/* The level's cpuset.cpus as a canonical list. */
static const char *cpus_of(const struct nscg_resolved *r, enum nscg_level l)
{
	static char buf[256];

	nscg_cpuset_format(val(r, l, NSCG_CPUSET_CPUS)->cpus, buf, sizeof(buf));
	return buf;
}

/* Load a single-file policy from text; no drop-ins. */
static struct nscg_policy *load_text(const char *name, const char *text)
{
	t_write(name, text, 0644);
	return t_load(name);
}

static void test_clean_policy(void)
{
	struct nscg_policy *p = load_text("clean.conf",
		"# a comment\n"
		"; another\n"
		"\n"
		"[global]\n"
		"on_error = allow\n"
		"mode = standalone\n"
		"cgroup_parent = nscg-test\n"
		"helper = /usr/libexec/nscg/nscg-helper\n"
		"skip_services = systemd-user cron\n"
		"\n"
		"[default]\n"
		"session.memory.max = 4G ; inline comment\n"
		"session.pids.max = 512\n"
		"user.memory.max = 50%\n"
		"user.cpu.max = 250%\n"
		"session.cpu.weight = 100\n"
		"session.io.weight = 200\n"
		"session.cpuset.cpus = 0-1\n"
		"session.memory.swap.max = 0\n"
		"session.memory.high = max\n"
		"namespaces = cgroup, mount\n"
		"hostname = \"%u-%h\"\n"
		"kill_on_close = no\n"
		"max_sessions = 8\n");
	struct nscg_resolved r;

	if (nscg_policy_diag_count(p))
		t_dump(p);
	CHECK(nscg_policy_diag_count(p) == 0);
	CHECK(nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num == NSCG_ON_ERROR_ALLOW);
	CHECK(nscg_policy_global(p, NSCG_KEY_MODE)->num == NSCG_MODE_STANDALONE);
	CHECK(!strcmp(nscg_policy_global(p, NSCG_KEY_CGROUP_PARENT)->str, "nscg-test"));
	CHECK(resolve(p, "alice", NULL, 0, "sshd", &r) == 0);
	CHECK(!r.exempt);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 4 * GiB);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 512);
	CHECK(num(&r, NSCG_LEVEL_USER, NSCG_MEMORY_MAX) == 8 * GiB);
	CHECK(num(&r, NSCG_LEVEL_USER, NSCG_CPU_MAX) == 250);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_SWAP_MAX) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_HIGH) == NSCG_UNLIMITED);
	CHECK(!strcmp(cpus_of(&r, NSCG_LEVEL_SESSION), "0-1"));
	CHECK(!val(&r, NSCG_LEVEL_USER, NSCG_PIDS_MAX)->set);
	CHECK(r.v[NSCG_KEY_NAMESPACES].num == (NSCG_NS_CGROUP | NSCG_NS_MOUNT));
	CHECK(!strcmp(r.v[NSCG_KEY_HOSTNAME].str, "%u-%h"));
	CHECK(r.v[NSCG_KEY_KILL_ON_CLOSE].num == 0);
	CHECK(r.v[NSCG_KEY_MAX_SESSIONS].num == 8);
	/* Origins name the file, the line and the section. */
	CHECK(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.line == 12);
	CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.section, "default"));
	CHECK(strstr(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.file, "clean.conf"));
	nscg_policy_free(p);
}

static void test_builtin_defaults(void)
{
	struct nscg_policy *p = load_text("empty.conf", "");
	struct nscg_resolved r;

	CHECK(nscg_policy_diag_count(p) == 0);
	CHECK(resolve(p, "bob", NULL, 0, "sshd", &r) == 0);
	CHECK(!r.exempt);
	CHECK(r.v[NSCG_KEY_ON_ERROR].num == NSCG_ON_ERROR_DENY);
	CHECK(r.v[NSCG_KEY_ON_ERROR].origin.file == NULL);
	CHECK(!strcmp(r.v[NSCG_KEY_CGROUP_PARENT].str, "nscg"));
	CHECK(!strcmp(r.v[NSCG_KEY_HELPER].str, NSCG_HELPER_PATH));
	CHECK(r.v[NSCG_KEY_NAMESPACES].num == NSCG_NS_ALL);
	CHECK(r.v[NSCG_KEY_KILL_ON_CLOSE].num == 1);
	CHECK(r.v[NSCG_KEY_MAX_SESSIONS].num == NSCG_UNLIMITED);
	CHECK(!val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->set);
	/* systemd-user is skipped by default (doc/design.md §3). */
	CHECK(resolve(p, "bob", NULL, 0, "systemd-user", &r) == 0);
	CHECK(r.exempt);
	nscg_policy_free(p);
}

/* One bad value per line; each error must name its line and the value. */
static void test_bad_values(void)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "session.memory.max = 16", "below the 32M floor" },
		{ "session.memory.max = 31M", "below the 32M floor" },
		{ "user.memory.high = 1K", "below the 32M floor" },
		{ "session.memory.max = 0%", "1% to 100%" },
		{ "session.memory.max = 101%", "1% to 100%" },
		{ "session.memory.max = 4Q", "expected a size" },
		{ "session.memory.max = -4G", "expected a size" },
		{ "session.memory.max = 8388608T", "above the largest size" },
		{ "user.memory.swap.max = 1048577T", "above the largest size" },
		{ "session.cpu.max = 250", "percentage of one CPU" },
		{ "session.cpu.max = 0%", "percentage of one CPU" },
		{ "session.cpu.weight = 0", "1 to 10000" },
		{ "session.io.weight = 10001", "1 to 10000" },
		{ "session.pids.max = 15", "below the floor of 16" },
		{ "session.pids.max = lots", "number of processes" },
		{ "session.cpuset.cpus = 3-1", "CPU list" },
		{ "session.cpuset.cpus = 1024", "CPU list" },
		{ "session.cpuset.cpus = 0,,1", "CPU list" },
		{ "namespaces = cgroup net", "cgroup, mount, ipc, uts" },
		{ "hostname = %x", "unknown %-escape" },
		{ "hostname = a_b", "only letters" },
		{ "kill_on_close = maybe", "yes or no" },
		{ "private_shm = maybe", "yes or no" },
		{ "private_tmp = shared", "not one of the accepted words" },
		{ "hide_processes = some", "yes or no" },
		{ "hide_processes_group = a:b", "a group name or number" },
		{ "delegate = 1x", "yes or no" },
		{ "delegate_max_descendants = 0", "1 to 1000" },
		{ "delegate_max_depth = 33", "1 to 32" },
		{ "shm_size = 512K", "at least 1M" },
		{ "tmp_size = max", "or auto" },
		{ "enabled =", "empty value" },
		{ "max_sessions = 0", "1 to 100000" },
		{ "memory.max = 4G", "unknown key 'memory.max'" },
		{ "on_error = allow", "only allowed in [global]" },
	};
	char text[4096];
	size_t o = snprintf(text, sizeof(text), "[default]\n");

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		o += snprintf(text + o, sizeof(text) - o, "%s\n", cases[i].line);
	struct nscg_policy *p = load_text("bad-values.conf", text);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		bool ok = t_has_diag(p, true, "bad-values.conf",
				     (unsigned)i + 2, cases[i].msg);
		if (!ok) {
			printf("    line %zu '%s': no error containing '%s'\n",
			       i + 2, cases[i].line, cases[i].msg);
			t_dump(p);
		}
		CHECK(ok);
	}
	CHECK(nscg_policy_errors(p) == ELEMENTSOF(cases));
	/* The offending value is quoted in the message. */
	CHECK(t_has_diag(p, true, "bad-values.conf", 2, "'16'"));
	nscg_policy_free(p);
}

static void test_good_values(void)
{
	struct nscg_policy *p = load_text("good-values.conf",
		"[user:u]\n"
		"session.memory.max = 32M\n"
		"session.pids.max = 16\n"
		"session.cpu.max = max\n"
		"user.memory.max = infinity\n"
		"session.cpuset.cpus = 8,0-3,2\n"
		"namespaces = none\n"
		"enabled = TRUE\n"
		"hostname =\n"
		"user.memory.swap.max = 1T\n");
	struct nscg_resolved r;

	CHECK(nscg_policy_diag_count(p) == 0);
	CHECK(resolve(p, "u", NULL, 0, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 32 * MiB);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 16);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_CPU_MAX) == NSCG_UNLIMITED);
	CHECK(num(&r, NSCG_LEVEL_USER, NSCG_MEMORY_MAX) == NSCG_UNLIMITED);
	CHECK(num(&r, NSCG_LEVEL_USER, NSCG_MEMORY_SWAP_MAX) == 1ull << 40);
	CHECK(!strcmp(cpus_of(&r, NSCG_LEVEL_SESSION), "0-3,8"));
	CHECK(r.v[NSCG_KEY_NAMESPACES].num == 0);
	CHECK(r.v[NSCG_KEY_ENABLED].num == 1 && !r.exempt);
	CHECK(!strcmp(r.v[NSCG_KEY_HOSTNAME].str, ""));
	nscg_policy_free(p);
}

static void test_syntax_errors_and_lines(void)
{
	struct nscg_policy *p = load_text("syntax.conf",
		"# 1\n"
		"orphan = 1\n"                       /* 2 */
		"[default]\n"                        /* 3 */
		"\n"                                 /* 4 */
		"session.pids.max 100\n"             /* 5 */
		"= 5\n"                              /* 6 */
		"[weird]\n"                          /* 7 */
		"[user:a] ; trailing comment\n"      /* 8 */
		"hostname = \"abc\n"                 /* 9 */
		"hostname = \"abc\" x\n"             /* 10 */
		"session.pids.max = 100 \\\n"        /* 11 */
		"[]\n"                               /* 12 */
		"[a]b]\n");                          /* 13 */

	CHECK(t_has_diag(p, true, "syntax.conf", 5, "expected 'key = value'"));
	CHECK(t_has_diag(p, true, "syntax.conf", 6, "missing key name"));
	CHECK(t_has_diag(p, true, "syntax.conf", 8, "must end with ']'"));
	CHECK(t_has_diag(p, true, "syntax.conf", 9, "unterminated quote"));
	CHECK(t_has_diag(p, true, "syntax.conf", 10, "after the closing quote"));
	CHECK(t_has_diag(p, true, "syntax.conf", 11, "continuation"));
	CHECK(t_has_diag(p, true, "syntax.conf", 12, "empty section name"));
	CHECK(t_has_diag(p, true, "syntax.conf", 13, "one name"));
	nscg_policy_free(p);

	/* A refused header, unknown names and misplaced keys. */
	p = load_text("semantic.conf",
		"orphan = 1\n"
		"[weird]\n"
		"key = 1\n"
		"[user:../x]\n"
		"[group:a b]\n"
		"[User:ok]\n"
		"bogus = 1\n"
		"[GLOBAL]\n"
		"session.pids.max = 100\n");
	CHECK(t_has_diag(p, true, "semantic.conf", 1, "outside any section"));
	CHECK(t_has_diag(p, true, "semantic.conf", 2, "unknown section [weird]"));
	CHECK(t_has_diag(p, true, "semantic.conf", 4, "invalid name in [user:../x]"));
	CHECK(t_has_diag(p, true, "semantic.conf", 5, "invalid name in [group:a b]"));
	CHECK(t_has_diag(p, true, "semantic.conf", 7, "unknown key 'bogus' in [User:ok]"));
	CHECK(t_has_diag(p, true, "semantic.conf", 9, "belongs in [default]"));
	/* Keys under a refused header are not reported a second time. */
	CHECK(!t_has_diag(p, true, "semantic.conf", 3, ""));
	CHECK(nscg_policy_errors(p) == 6);
	nscg_policy_free(p);
}

/* Keys under a header that failed to parse belong to no section: they
 * must not land in the section before it. */
static void test_broken_header_owns_its_keys(void)
{
	struct nscg_policy *p = load_text("broken-header.conf",
		"[default]\n"
		"session.pids.max = 100\n"
		"[group:x] # comment\n"
		"session.pids.max = 200\n");

	CHECK(t_has_diag(p, true, "broken-header.conf", 3, "must end with ']'"));
	CHECK(!t_has_diag(p, false, "broken-header.conf", 4, "set again"));
	CHECK(nscg_policy_diag_count(p) == 1);
	nscg_policy_free(p);
}

static void test_file_level_errors(void)
{
	char big[1100];
	struct nscg_policy *p;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char text[1300];
	snprintf(text, sizeof(text), "[default]\nhostname = %s\n", big);
	p = load_text("long.conf", text);
	CHECK(t_has_diag(p, true, "long.conf", 2, "longer than"));
	nscg_policy_free(p);

	/* A NUL byte: written by hand since t_write takes a C string. */
	const char *path = t_write("nul.conf", "[default]\nkill_on_close = yes\n", 0644);
	FILE *f = fopen(path, "ae");
	CHECK(f);
	fputc('\0', f);
	fclose(f);
	p = t_load("nul.conf");
	CHECK(t_has_diag(p, true, "nul.conf", 0, "NUL byte"));
	nscg_policy_free(p);

	p = t_load("does-not-exist.conf");
	CHECK(t_has_diag(p, true, "does-not-exist.conf", 0, "No such file"));
	CHECK(nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num == NSCG_ON_ERROR_DENY);
	nscg_policy_free(p);
}

/* An overlong line may be a header: the keys after it must not count
 * for the section before it, not even on_error. */
static void test_overlong_header(void)
{
	char text[1400];
	char name[1100];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text), "[global]\n[user:%s]\non_error = allow\n", name);
	struct nscg_policy *p = load_text("overlong.conf", text);
	CHECK(t_has_diag(p, true, "overlong.conf", 2, "longer than"));
	CHECK(nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num == NSCG_ON_ERROR_DENY);
	nscg_policy_free(p);
}

static void test_empty_dropin_dir(void)
{
	t_write("emptyd/nscg.conf", "[default]\n", 0644);
	CHECK(mkdir(t_path("emptyd/nscg.d"), 0755) == 0);
	struct nscg_policy *p = t_load("emptyd/nscg.conf");
	CHECK(nscg_policy_diag_count(p) == 0);
	nscg_policy_free(p);
}

static void test_on_error_survives_errors(void)
{
	struct nscg_policy *p = load_text("onerr.conf",
		"[global]\n"
		"on_error = allow\n"
		"[default]\n"
		"session.memory.max = 16\n");

	CHECK(nscg_policy_errors(p) == 1);
	CHECK(nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num == NSCG_ON_ERROR_ALLOW);
	nscg_policy_free(p);
}

static void test_duplicate_key_warns(void)
{
	struct nscg_policy *p = load_text("dup.conf",
		"[user:a]\n"
		"session.pids.max = 100\n"
		"[user:b]\n"
		"session.pids.max = 50\n"
		"[user:a]\n"
		"session.pids.max = 200\n");
	struct nscg_resolved r;

	CHECK(nscg_policy_errors(p) == 0);
	CHECK(t_has_diag(p, false, "dup.conf", 6, "overrides line 2"));
	CHECK(resolve(p, "a", NULL, 0, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 200);
	CHECK(val(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX)->origin.line == 6);
	nscg_policy_free(p);
}

static void test_precedence(void)
{
	struct nscg_policy *p = load_text("prec.conf",
		"[default]\n"
		"session.memory.max = 1G\n"
		"session.pids.max = 100\n"
		"session.cpu.weight = 10\n"
		"[group:dev]\n"
		"session.memory.max = 2G\n"
		"session.pids.max = 200\n"
		"[user:alice]\n"
		"session.memory.max = 3G\n");
	static const char *const groups[] = { "alice", "dev" };
	struct nscg_resolved r;

	CHECK(resolve(p, "alice", groups, 2, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 3 * GiB);
	CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.section, "user:alice"));
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 200);
	CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX)->origin.section, "group:dev"));
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_CPU_WEIGHT) == 10);
	CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_CPU_WEIGHT)->origin.section, "default"));
	/* Not in dev: default applies. A user section never leaks to others. */
	CHECK(resolve(p, "bob", groups, 1, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 1 * GiB);
	nscg_policy_free(p);
}

static void test_most_generous_group(void)
{
	struct nscg_policy *p = load_text("groups.conf",
		"[group:small]\n"
		"session.memory.max = 8G\n"
		"session.pids.max = max\n"
		"session.cpuset.cpus = 0-1\n"
		"session.cpu.max = 400%\n"
		"hostname = small\n"
		"[group:big]\n"
		"session.memory.max = 16G\n"
		"session.pids.max = 1000\n"
		"session.cpuset.cpus = 4,1\n"
		"session.cpu.max = 100%\n"
		"hostname = big\n"
		"[group:other]\n"
		"session.memory.max = 64G\n");
	static const char *const g1[] = { "small", "big" };
	static const char *const g2[] = { "big", "small", "big" };
	struct nscg_resolved r;

	CHECK(nscg_policy_diag_count(p) == 0);
	for (int order = 0; order < 2; order++) {
		CHECK(resolve(p, "u", order ? g2 : g1, order ? 3 : 2, NULL, &r) == 0);
		CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 16 * GiB);
		CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.section, "group:big"));
		CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == NSCG_UNLIMITED);
		CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_CPU_MAX) == 400);
		/* CPU sets are united. */
		CHECK(!strcmp(cpus_of(&r, NSCG_LEVEL_SESSION), "0-1,4"));
		CHECK(val(&r, NSCG_LEVEL_SESSION, NSCG_CPUSET_CPUS)->origin.merged == 1);
		/* Not a limit: the group section read last wins, whatever
		 * the order of the user's groups. */
		CHECK(!strcmp(r.v[NSCG_KEY_HOSTNAME].str, "big"));
	}
	nscg_policy_free(p);
}

static void test_dropins(void)
{
	struct nscg_policy *p;
	struct nscg_resolved r;
	static const char *const groups[] = { "dev" };

	t_write("d/nscg.conf",
		"[default]\nsession.memory.max = 1G\n"
		"[group:dev]\nsession.memory.max = 8G\n", 0644);
	t_write("d/nscg.d/20-later.conf",
		"[default]\nsession.memory.max = 3G\n", 0644);
	t_write("d/nscg.d/10-early.conf",
		"[default]\nsession.memory.max = 2G\nsession.pids.max = 99\n"
		"[group:dev]\nsession.memory.max = 4G\n", 0644);
	t_write("d/nscg.d/30-ignored.conf.dpkg-old",
		"[bogus]\n", 0644);
	t_write("d/nscg.d/.hidden.conf", "[bogus]\n", 0644);
	CHECK(chmod(t_path("d/nscg.d"), 0755) == 0);
	p = t_load("d/nscg.conf");
	if (nscg_policy_diag_count(p))
		t_dump(p);
	CHECK(nscg_policy_diag_count(p) == 0);
	CHECK(resolve(p, "u", NULL, 0, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 3 * GiB);
	CHECK(strstr(val(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX)->origin.file, "20-later.conf"));
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 99);
	/* The same group in a later file overrides it, even downwards: the
	 * generous rule is between different groups only. */
	CHECK(resolve(p, "u", groups, 1, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_MEMORY_MAX) == 4 * GiB);
	nscg_policy_free(p);
}

static void test_permissions(void)
{
	struct nscg_policy *p;

	t_write("perm/gw.conf", "[default]\n", 0664);
	p = t_load("perm/gw.conf");
	CHECK(t_has_diag(p, true, "perm/gw.conf", 0, "writable by its group"));
	nscg_policy_free(p);

	t_write("perm/ww.conf", "[default]\n", 0646);
	p = t_load("perm/ww.conf");
	CHECK(t_has_diag(p, true, "perm/ww.conf", 0, "writable by others"));
	nscg_policy_free(p);

	t_write("perm/ok.conf", "[default]\n", 0644);
	t_write("perm/ok.d/bad.conf", "[user:x]\nsession.pids.max = 100\n", 0666);
	t_write("perm/ok.d/good.conf", "[default]\n", 0600);
	p = t_load("perm/ok.conf");
	CHECK(t_has_diag(p, true, "perm/ok.d/bad.conf", 0, "refused"));
	CHECK(!t_has_diag(p, true, "perm/ok.d/good.conf", 0, ""));
	CHECK(nscg_policy_errors(p) == 1);
	nscg_policy_free(p);

	CHECK(chmod(t_path("perm/ok.d"), 0775) == 0);
	unlink(t_path("perm/ok.d/bad.conf"));
	p = t_load("perm/ok.conf");
	CHECK(t_has_diag(p, true, "perm/ok.d", 0, "drop-in directory"));
	nscg_policy_free(p);
	CHECK(chmod(t_path("perm/ok.d"), 0755) == 0);

	/* Symbolic links are refused: the link could be swapped. */
	CHECK(symlink(t_path("perm/ok.conf"), t_path("perm/link.conf")) == 0);
	p = t_load("perm/link.conf");
	CHECK(t_has_diag(p, true, "perm/link.conf", 0, "symbolic links"));
	nscg_policy_free(p);

	/* Not a regular file. */
	CHECK(mkdir(t_path("perm/dir.conf"), 0755) == 0);
	p = t_load("perm/dir.conf");
	CHECK(t_has_diag(p, true, "perm/dir.conf", 0, "not a regular file"));
	nscg_policy_free(p);

	/* Wrong owner: trust another uid than ours. */
	struct nscg_load_opts opts = { .physmem = 1ull << 30,
				       .trusted_uid = geteuid() + 1 };
	CHECK(nscg_policy_load(t_path("perm/ok.conf"), &opts, &p) == 0);
	CHECK(t_has_diag(p, true, "perm/ok.conf", 0, "owned by uid"));
	nscg_policy_free(p);
}

static void test_case(void)
{
	struct nscg_policy *p = load_text("case.conf",
		"[User:Alice]\n"
		"session.pids.max = 100\n"
		"[user:alice]\n"
		"session.pids.max = 200\n");
	struct nscg_resolved r;

	/* In one file iniparser would merge them: an error. */
	CHECK(t_has_diag(p, true, "case.conf", 3, "only in case"));
	nscg_policy_free(p);

	t_write("case2/nscg.conf",
		"[user:Alice]\nSession.Pids.Max = 100\n", 0644);
	t_write("case2/nscg.d/a.conf", "[user:alice]\nsession.pids.max = 200\n", 0644);
	p = t_load("case2/nscg.conf");
	CHECK(nscg_policy_errors(p) == 0);
	CHECK(t_has_diag(p, false, "case2/nscg.d/a.conf", 1, "differ only in case"));
	/* Names match exactly, as NSS names do; key names fold. */
	CHECK(resolve(p, "Alice", NULL, 0, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 100);
	CHECK(!strcmp(val(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX)->origin.section, "user:Alice"));
	CHECK(resolve(p, "alice", NULL, 0, NULL, &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 200);
	CHECK(resolve(p, "ALICE", NULL, 0, NULL, &r) == 0);
	CHECK(!val(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX)->set);
	nscg_policy_free(p);
}

static void test_hostile_requests(void)
{
	struct nscg_policy *p = load_text("hostile.conf",
		"[default]\nsession.pids.max = 100\n");
	char long_name[301];
	static const char *const groups[] = { "../x", "a\nb", "", NULL, "a\nb" };
	struct nscg_resolved r;

	memset(long_name, 'a', 300);
	long_name[300] = '\0';
	CHECK(resolve(p, "../x", NULL, 0, NULL, &r) == -EINVAL);
	CHECK(resolve(p, "a\nb", NULL, 0, NULL, &r) == -EINVAL);
	CHECK(resolve(p, long_name, NULL, 0, NULL, &r) == -EINVAL);
	CHECK(resolve(p, "", NULL, 0, NULL, &r) == -EINVAL);
	CHECK(resolve(p, NULL, NULL, 0, NULL, &r) == -EINVAL);
	/* Odd group names from NSS match nothing and hurt nothing. */
	CHECK(resolve(p, "ok", groups, 5, "ss\nhd", &r) == 0);
	CHECK(num(&r, NSCG_LEVEL_SESSION, NSCG_PIDS_MAX) == 100);
	nscg_policy_free(p);
}

static void test_exemptions(void)
{
	struct nscg_policy *p = load_text("exempt.conf",
		"[global]\nskip_services = cron, sudo\n"
		"[group:admins]\nenabled = no\n");
	static const char *const admins[] = { "admins" };
	struct nscg_resolved r;

	CHECK(resolve(p, "root2", admins, 1, "sshd", &r) == 0);
	CHECK(r.exempt && strstr(r.exempt_why, "enabled"));
	CHECK(resolve(p, "u", NULL, 0, "sudo", &r) == 0);
	CHECK(r.exempt && strstr(r.exempt_why, "skip_services"));
	/* skip_services replaces the default list. */
	CHECK(resolve(p, "u", NULL, 0, "systemd-user", &r) == 0);
	CHECK(!r.exempt);
	CHECK(resolve(p, "u", NULL, 0, "sudo-i", &r) == 0);
	CHECK(!r.exempt);
	nscg_policy_free(p);
}

static void test_resolve_is_pure(void)
{
	struct nscg_policy *p = load_text("pure.conf",
		"[group:a]\nsession.cpuset.cpus = 0\n"
		"[group:b]\nsession.cpuset.cpus = 1\n");
	static const char *const g[] = { "a", "b" };
	struct nscg_resolved r1, r2;

	CHECK(resolve(p, "u", g, 2, NULL, &r1) == 0);
	CHECK(resolve(p, "u", g, 2, NULL, &r2) == 0);
	CHECK(!strcmp(cpus_of(&r1, NSCG_LEVEL_SESSION), "0-1"));
	CHECK(!strcmp(cpus_of(&r2, NSCG_LEVEL_SESSION), "0-1"));
	nscg_policy_free(p);
}

/* Fixture files: tests/fixtures/good/ must load clean; each file in
 * tests/fixtures/bad/ lists the errors it must produce as
 * "# expect LINE: text" comments, and produce no others. */
static void check_fixture_dir(const char *sub, bool good)
{
	char dirpath[512];
	DIR *d;

	snprintf(dirpath, sizeof(dirpath), "%s/%s", NSCG_FIXTURES, sub);
	d = opendir(dirpath);
	CHECK(d);
	unsigned files = 0;
	for (struct dirent *de; (de = readdir(d));) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".conf"))
			continue;
		char src[1024], rel[300];
		snprintf(src, sizeof(src), "%s/%s", dirpath, de->d_name);
		snprintf(rel, sizeof(rel), "fixture-%s", de->d_name);
		FILE *f = fopen(src, "re");
		CHECK(f);
		char *text = NULL;
		size_t cap = 0;
		ssize_t len = getdelim(&text, &cap, '\0', f);
		fclose(f);
		CHECK(len >= 0);
		t_write(rel, text, 0644);
		struct nscg_policy *p = t_load(rel);
		/* The module reads without the dialect check: the same. */
		struct nscg_policy *once = t_load_with(rel, NULL);
		CHECK(nscg_policy_errors(once) == nscg_policy_errors(p));
		CHECK(nscg_policy_diag_count(once) == nscg_policy_diag_count(p));
		nscg_policy_free(once);
		unsigned expected = 0;
		for (char *s = text; (s = strstr(s, "# expect ")); s++) {
			unsigned line;
			char want[200];
			if (sscanf(s, "# expect %u: %199[^\n]", &line, want) != 2)
				continue;
			expected++;
			if (!t_has_diag(p, true, rel, line, want)) {
				printf("    %s: no error '%s' on line %u\n",
				       de->d_name, want, line);
				t_dump(p);
				CHECK(false);
			}
		}
		if (good && nscg_policy_diag_count(p)) {
			printf("    %s should be clean\n", de->d_name);
			t_dump(p);
		}
		CHECK(!good || nscg_policy_diag_count(p) == 0);
		CHECK(good || expected > 0);
		CHECK(good || nscg_policy_errors(p) == expected);
		nscg_policy_free(p);
		free(text);
		files++;
	}
	closedir(d);
	CHECK(files > 0);
}

/* The dialect check hands iniparser the bytes the scanner read: bytes
 * that say something else (512M changed to 256M on their way to
 * iniparser) are an error on that line. */
static void tampered_check(struct nscg_policy *p, const struct nscg_policy_file *f)
{
	char *copy = strndup(f->buf, f->len), *at = copy ? strstr(copy, "512M") : NULL;
	struct nscg_policy_file other = *f;

	CHECK(at);
	if (!at)
		return;
	memcpy(at, "256M", 4);
	other.buf = copy;
	nscg_policy_check_dialect(p, &other);
	free(copy);
}

static void test_dialect_check(void)
{
	const char *text = "[default]\nsession.pids.max = 100\nsession.memory.max = 512M\n";
	struct nscg_policy *p;

	t_write("dialect.conf", text, 0644);
	p = t_load("dialect.conf");
	CHECK(nscg_policy_errors(p) == 0);
	nscg_policy_free(p);
	p = t_load_with("dialect.conf", tampered_check);
	CHECK(nscg_policy_errors(p) == 1);
	CHECK(t_has_diag(p, true, "dialect.conf", 3, "iniparser reads this line differently"));
	CHECK(!t_has_diag(p, true, "dialect.conf", 2, "iniparser"));
	nscg_policy_free(p);
}

static void test_fixtures_good(void)
{
	check_fixture_dir("good", true);
}

static void test_fixtures_bad(void)
{
	check_fixture_dir("bad", false);
}

static void test_example_conf(void)
{
	check_fixture_dir("../../conf", true);
}

const struct test policy_tests[] = {
	{ "policy/clean_policy", test_clean_policy },
	{ "policy/builtin_defaults", test_builtin_defaults },
	{ "policy/bad_values_name_line_and_value", test_bad_values },
	{ "policy/good_values_and_units", test_good_values },
	{ "policy/syntax_errors_and_lines", test_syntax_errors_and_lines },
	{ "policy/broken_header_owns_its_keys", test_broken_header_owns_its_keys },
	{ "policy/file_level_errors", test_file_level_errors },
	{ "policy/on_error_survives_errors", test_on_error_survives_errors },
	{ "policy/overlong_header_owns_its_keys", test_overlong_header },
	{ "policy/empty_dropin_dir", test_empty_dropin_dir },
	{ "policy/duplicate_key_warns", test_duplicate_key_warns },
	{ "policy/precedence_user_group_default", test_precedence },
	{ "policy/most_generous_group", test_most_generous_group },
	{ "policy/dropins_lexical_order", test_dropins },
	{ "policy/permissions", test_permissions },
	{ "policy/case_of_names", test_case },
	{ "policy/hostile_requests", test_hostile_requests },
	{ "policy/exemptions", test_exemptions },
	{ "policy/resolve_is_pure", test_resolve_is_pure },
	{ "policy/dialect_check", test_dialect_check },
	{ "policy/fixtures_good", test_fixtures_good },
	{ "policy/fixtures_bad", test_fixtures_bad },
	{ "policy/example_conf_is_clean", test_example_conf },
	{ NULL, NULL },
};
