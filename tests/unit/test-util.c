/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <unistd.h>
#include <string.h>

#include "cgroup.h"
#include "test-unit.h"
#include "limits.h"
#include "logind.h"
#include "util.h"

static void test_parse_bytes(void)
{
	uint64_t v;

	CHECK(nscg_parse_bytes("4G", &v) == 0 && v == 4ull << 30);
	CHECK(nscg_parse_bytes("512m", &v) == 0 && v == 512ull << 20);
	CHECK(nscg_parse_bytes("1K", &v) == 0 && v == 1024);
	CHECK(nscg_parse_bytes("2T", &v) == 0 && v == 2ull << 40);
	CHECK(nscg_parse_bytes("100", &v) == 0 && v == 100);
	CHECK(nscg_parse_bytes("", &v) == -EINVAL);
	CHECK(nscg_parse_bytes("G", &v) == -EINVAL);
	CHECK(nscg_parse_bytes("4X", &v) == -EINVAL);
	CHECK(nscg_parse_bytes("-1", &v) == -EINVAL);
	CHECK(nscg_parse_bytes(" 4G", &v) == -EINVAL);
	CHECK(nscg_parse_bytes("4.5G", &v) == -EINVAL);
	CHECK(nscg_parse_bytes("99999999T", &v) == -ERANGE);
	CHECK(nscg_parse_bytes("99999999999999999999", &v) == -ERANGE);
}

static void test_format_bytes(void)
{
	char b[32];

	nscg_format_bytes(4ull << 30, b, sizeof(b));
	CHECK(!strcmp(b, "4G"));
	nscg_format_bytes(1536ull << 20, b, sizeof(b));
	CHECK(!strcmp(b, "1536M"));
	nscg_format_bytes(1000, b, sizeof(b));
	CHECK(!strcmp(b, "1000"));
	nscg_format_bytes(NSCG_UNLIMITED, b, sizeof(b));
	CHECK(!strcmp(b, "max"));
}

static void test_hostile_names(void)
{
	char long_name[301];

	memset(long_name, 'a', 300);
	long_name[300] = '\0';
	CHECK(nscg_name_is_valid("alice"));
	CHECK(nscg_name_is_valid("Alice"));
	CHECK(nscg_name_is_valid("build-bot_2"));
	CHECK(nscg_name_is_valid("jos\xc3\xa9")); /* UTF-8 from LDAP */
	CHECK(!nscg_name_is_valid("../x"));
	CHECK(!nscg_name_is_valid("a/b"));
	CHECK(!nscg_name_is_valid("a\nb"));
	CHECK(!nscg_name_is_valid("a b"));
	CHECK(!nscg_name_is_valid("user:x"));
	CHECK(!nscg_name_is_valid("."));
	CHECK(!nscg_name_is_valid(".."));
	CHECK(!nscg_name_is_valid(""));
	CHECK(!nscg_name_is_valid(NULL));
	CHECK(!nscg_name_is_valid(long_name));
	long_name[NSCG_NAME_MAX] = '\0';
	CHECK(nscg_name_is_valid(long_name));
}

static void test_escape(void)
{
	char b[16];

	CHECK(!strcmp(nscg_escape("a\nb", b, sizeof(b)), "a\\x0ab"));
	CHECK(!strcmp(nscg_escape("q\"\\", b, sizeof(b)), "q\\\"\\\\"));
	nscg_escape("aaaaaaaaaaaaaaaaaaaaaaaaaa", b, sizeof(b));
	CHECK(strlen(b) < sizeof(b) && !strcmp(b + strlen(b) - 3, "..."));
	nscg_escape("\n\n\n\n\n\n\n\n", b, sizeof(b));
	CHECK(strlen(b) < sizeof(b) && !strchr(b, '\n'));
}

static void test_kernel_release(void)
{
	CHECK(nscg_kernel_at_least("5.8.0", 5, 8));
	CHECK(nscg_kernel_at_least("6.1.0-13-amd64", 5, 8));
	CHECK(nscg_kernel_at_least("5.10.0", 5, 8)); /* 10 > 8, not "1" < "8" */
	CHECK(!nscg_kernel_at_least("5.7.19", 5, 8));
	CHECK(!nscg_kernel_at_least("4.19.0-21-amd64", 5, 8));
	CHECK(!nscg_kernel_at_least("5", 5, 8));
	CHECK(!nscg_kernel_at_least("", 5, 8));
	CHECK(!nscg_kernel_at_least(NULL, 5, 8));
}

static void test_group_gid(void)
{
	gid_t g = 1;

	CHECK(nscg_group_gid("root", &g) == 0 && g == 0);
	CHECK(nscg_group_gid("4242", &g) == 0 && g == 4242);
	CHECK(nscg_group_gid("no-such-group-nscg", &g) == -ENOENT);
	CHECK(nscg_group_gid("4294967295", &g) == -ERANGE);
}

static void test_logind_parse(void)
{
	struct nscg_logind_session ls;

	/* Pure v2, as pam_systemd leaves an ssh login. */
	CHECK(nscg_logind_parse("0::/user.slice/user-1000.slice/session-3.scope\n", &ls) == 1);
	CHECK(!strcmp(ls.id, "3") && ls.uid == 1000);
	CHECK(!strcmp(ls.scope, "session-3.scope") && !strcmp(ls.slice, "user-1000.slice"));
	/* Hybrid: the unified line is empty of it, name=systemd has it. */
	CHECK(nscg_logind_parse("5:memory:/user.slice\n1:name=systemd:/user.slice/user-0.slice/session-c12.scope\n0::/\n",
				&ls) == 1);
	CHECK(!strcmp(ls.id, "c12") && ls.uid == 0);
	/* Not a session: a service, the user manager, a bare slice, the root. */
	CHECK(nscg_logind_parse("0::/system.slice/ssh.service\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n", &ls) == 0);
	/* A look-alike in the user's delegated subtree: only slices may
	 * come before the scope. */
	CHECK(nscg_logind_parse("0::/user.slice/user-1000.slice/user@1000.service/app.slice/user-1000.slice/session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1000.slice/session-2.scope/x.slice/user-1000.slice/session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1000.slice\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/\n", &ls) == 0);
	CHECK(nscg_logind_parse("", &ls) == 0);
	/* Only the unified and systemd's own hierarchies count. */
	CHECK(nscg_logind_parse("4:memory:/user.slice/user-1000.slice/session-3.scope\n", &ls) == 0);
	/* Malformed names. */
	CHECK(nscg_logind_parse("0::/user.slice/user-.slice/session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-10x.slice/session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-99999999999.slice/session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1.slice/session-.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1.slice/session-a.b.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user.slice/user-1.slice/session-3.scope/sub\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::session-3.scope\n", &ls) == 0);
	CHECK(nscg_logind_parse("0::/user-1.slice/session-0123456789012345678901234567890123.scope\n", &ls) == 0);
}

static void test_cpuset_bytes(void)
{
	struct nscg_cpuset set;
	uint8_t m[4];
	char buf[64];

	CHECK(nscg_cpuset_parse("9,0-3", &set) == 0);
	CHECK(nscg_cpuset_to_bytes(&set, m, sizeof(m)) == 2 && m[0] == 0x0f && m[1] == 0x02);
	nscg_cpuset_format(&set, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0-3,9"));
	CHECK(nscg_cpuset_parse("8", &set) == 0);
	CHECK(nscg_cpuset_to_bytes(&set, m, sizeof(m)) == 2 && m[0] == 0 && m[1] == 0x01);
	CHECK(nscg_cpuset_parse("31", &set) == 0);
	CHECK(nscg_cpuset_to_bytes(&set, m, sizeof(m)) == 4 && m[3] == 0x80);
	CHECK(nscg_cpuset_parse("32", &set) == 0 && nscg_cpuset_to_bytes(&set, m, sizeof(m)) == -ERANGE);
	memset(&set, 0, sizeof(set));
	CHECK(nscg_cpuset_to_bytes(&set, m, sizeof(m)) == 0);
	CHECK(nscg_cpuset_parse("", &set) == -EINVAL);
	CHECK(nscg_cpuset_parse("3-1", &set) == -ERANGE);
	CHECK(nscg_cpuset_parse("1024", &set) == -ERANGE);
	CHECK(nscg_cpuset_parse("a", &set) == -EINVAL);
	CHECK(nscg_cpuset_parse("1;2", &set) == -EINVAL);
	CHECK(nscg_cpuset_parse("1-", &set) == -EINVAL);
	CHECK(nscg_cpuset_parse("0,,1", &set) == -EINVAL);
}

/* This process's own /proc/PID/stat, its parent and start time. */
static void test_proc_stat(void)
{
	uint64_t start = 0;
	pid_t ppid = 0;
	char state = 0;

	CHECK(nscg_proc_stat(getpid(), &state, &ppid, &start) == 0);
	CHECK(state == 'R' && ppid == getppid() && start > 0);
	CHECK(nscg_proc_stat(getpid(), NULL, NULL, NULL) == 0);
	CHECK(nscg_proc_stat(0x7ffffff0, &state, &ppid, &start) == -ENOENT);
}

/* The host mounts the session's view detaches, in the order it must:
 * under /sys/fs/cgroup the shallowest first, then cgroupfs elsewhere. */
static void test_view_mounts(void)
{
	static const char hybrid[] =
		"22 1 0:21 / /sys rw - sysfs sysfs rw\n"
		"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
		"50 1 0:40 /x /srv/cg\\040a rw shared:9 - cgroup2 cgroup2 rw\n"
		"51 1 0:41 / /sys/fs/cgroupx rw - tmpfs tmpfs rw\n";
	unsigned id = 0, skip[2];
	char path[64];

	CHECK(nscg_view_next_host_mount(hybrid, NULL, 0, path, sizeof(path), &id) == 1);
	CHECK(id == 31 && !strcmp(path, "/sys/fs/cgroup"));
	skip[0] = 31;
	CHECK(nscg_view_next_host_mount(hybrid, skip, 1, path, sizeof(path), &id) == 1);
	CHECK(id == 32 && !strcmp(path, "/sys/fs/cgroup/cpu"));
	/* Then the cgroupfs elsewhere, its name unescaped; a mere
	 * neighbour by name (/sys/fs/cgroupx) is not one. */
	static const char elsewhere[] =
		"50 1 0:40 /x /srv/cg\\040a rw shared:9 - cgroup2 cgroup2 rw\n"
		"51 1 0:41 / /sys/fs/cgroupx rw - tmpfs tmpfs rw\n";
	CHECK(nscg_view_next_host_mount(elsewhere, NULL, 0, path, sizeof(path), &id) == 1);
	CHECK(id == 50 && !strcmp(path, "/srv/cg a"));
	skip[0] = 50;
	CHECK(nscg_view_next_host_mount(elsewhere, skip, 1, path, sizeof(path), &id) == 0);
	CHECK(nscg_view_next_host_mount(elsewhere, NULL, 0, path, 5, &id) == -ENAMETOOLONG);
	/* Hostile lines: cut short, no separator, empty. */
	CHECK(nscg_view_next_host_mount("31 23 0:28 /", NULL, 0, path, sizeof(path), &id) == 0);
	CHECK(nscg_view_next_host_mount("31 23 0:28 / /sys/fs/cgroup rw tmpfs\n", NULL, 0, path,
					sizeof(path), &id) == 0);
	CHECK(nscg_view_next_host_mount("", NULL, 0, path, sizeof(path), &id) == 0);
	CHECK(nscg_view_next_host_mount("\n\n - \n", NULL, 0, path, sizeof(path), &id) == 0);
}

const struct test util_tests[] = {
	{ "util/parse_bytes", test_parse_bytes },
	{ "util/format_bytes", test_format_bytes },
	{ "util/hostile_names", test_hostile_names },
	{ "util/escape", test_escape },
	{ "util/kernel-release", test_kernel_release },
	{ "util/group-gid", test_group_gid },
	{ "util/logind_parse", test_logind_parse },
	{ "util/cpuset_bytes", test_cpuset_bytes },
	{ "util/proc_stat", test_proc_stat },
	{ "util/view_mounts", test_view_mounts },
	{ NULL, NULL },
};
