/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy's keys, and their values: parsed and checked from text,
 * formatted back for nscgctl. */
#include "policy-internal.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_PARENT_LEN 128
#define MAX_HOSTNAME_TEMPLATE 64

#define LIMIT_DEFS(prefix)                                                     \
	{ prefix "memory.max", T_MEMORY, true, NULL },                         \
	{ prefix "memory.high", T_MEMORY, true, NULL },                        \
	{ prefix "memory.swap.max", T_SWAP, true, NULL },                      \
	{ prefix "cpu.max", T_CPU_MAX, true, NULL },                           \
	{ prefix "cpu.weight", T_WEIGHT, true, NULL },                         \
	{ prefix "pids.max", T_PIDS, true, NULL },                             \
	{ prefix "io.weight", T_WEIGHT, true, NULL },                          \
	{ prefix "cpuset.cpus", T_CPUSET, true, NULL }

const struct key_def nscg_keys[NSCG_KEY_COUNT] = {
	[NSCG_KEY_ON_ERROR] = { "on_error", T_ON_ERROR, false, "deny" },
	[NSCG_KEY_MODE] = { "mode", T_MODE, false, "auto" },
	[NSCG_KEY_CGROUP_PARENT] = { "cgroup_parent", T_CGROUP_PATH, false, "nscg" },
	[NSCG_KEY_HELPER] = { "helper", T_PATH, false, NSCG_HELPER_PATH },
	[NSCG_KEY_SKIP_SERVICES] = { "skip_services", T_WORDS, false, "systemd-user" },
	[NSCG_KEY_ENABLED] = { "enabled", T_BOOL, false, "yes" },
	[NSCG_KEY_MAX_SESSIONS] = { "max_sessions", T_SESSIONS, true, "max" },
	[NSCG_KEY_NAMESPACES] = { "namespaces", T_NAMESPACES, false, "cgroup mount ipc uts" },
	[NSCG_KEY_HOSTNAME] = { "hostname", T_HOSTNAME, false, "" },
	[NSCG_KEY_KILL_ON_CLOSE] = { "kill_on_close", T_BOOL, false, "yes" },
	[NSCG_KEY_PRIVATE_SHM] = { "private_shm", T_BOOL, false, "yes" },
	[NSCG_KEY_SHM_SIZE] = { "shm_size", T_TMPFS_SIZE, false, "auto" },
	[NSCG_KEY_PRIVATE_TMP] = { "private_tmp", T_PRIVATE_TMP, false, "host" },
	[NSCG_KEY_TMP_SIZE] = { "tmp_size", T_TMPFS_SIZE, false, "auto" },
	[NSCG_KEY_LIMIT_USER_MANAGER] = { "limit_user_manager", T_BOOL, false, "yes" },
	[NSCG_KEY_OOM_NOTICE] = { "oom_notice", T_BOOL, false, "yes" },
	[NSCG_KEY_HIDE_PROCESSES] = { "hide_processes", T_BOOL, false, "no" },
	[NSCG_KEY_HIDE_PROCESSES_GROUP] = { "hide_processes_group", T_GROUP, false, "" },
	[NSCG_KEY_DELEGATE] = { "delegate", T_BOOL, false, "no" },
	[NSCG_KEY_DELEGATE_MAX_DESCENDANTS] = { "delegate_max_descendants", T_CGROUP_COUNT, false, "64" },
	[NSCG_KEY_DELEGATE_MAX_DEPTH] = { "delegate_max_depth", T_CGROUP_DEPTH, false, "8" },
	[NSCG_KEY_EXPORT_CPUS] = { "export_cpus", T_BOOL, false, "yes" },
	LIMIT_DEFS("user."),
	LIMIT_DEFS("session."),
};

int nscg_key_find(const char *name, bool global, enum nscg_key *out)
{
	for (int k = 0; k < NSCG_KEY_COUNT; k++) {
		if (strcmp(nscg_keys[k].name, name))
			continue;
		if ((k < NSCG_KEY_FIRST_SCOPED) != global)
			return -EPERM;
		*out = (enum nscg_key)k;
		return 0;
	}
	return -ENOENT;
}

static bool word_eq(const char *a, const char *b)
{
	return nscg_streq_icase(a, b);
}

static bool parse_bool(const char *s, uint64_t *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (word_eq(s, yes[i])) {
			*out = 1;
			return true;
		}
		if (word_eq(s, no[i])) {
			*out = 0;
			return true;
		}
	}
	return false;
}

static bool is_unlimited(const char *s)
{
	return word_eq(s, "max") || word_eq(s, "infinity");
}

/* "N%" with 1 <= N <= max_pct into *out: 0, -EINVAL if s is no
 * percentage, -ERANGE if N is out of range. */
static int parse_percent(const char *s, uint64_t max_pct, uint64_t *out)
{
	char digits[24];
	size_t n = strlen(s);
	uint64_t v;

	if (n < 2 || s[n - 1] != '%' || n - 1 >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n - 1);
	digits[n - 1] = '\0';
	if (nscg_parse_u64(digits, &v) < 0 || v < 1 || v > max_pct)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Split a list on spaces, tabs and commas; calls fn for each word. */
static int for_each_word(const char *s, int (*fn)(const char *w, size_t n,
						   void *ud),
			 void *ud)
{
	while (*s) {
		size_t n;

		s += strspn(s, " \t,");
		n = strcspn(s, " \t,");
		if (n) {
			int r = fn(s, n, ud);
			if (r < 0)
				return r;
		}
		s += n;
	}
	return 0;
}

static int ns_word(const char *w, size_t n, void *ud)
{
	uint64_t *mask = ud;
	unsigned bit = nscg_ns_bit(w, n);

	*mask |= bit;
	return bit ? 0 : -EINVAL;
}

static int service_word(const char *w, size_t n, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
			return -EINVAL;
	}
	return 0;
}

/* A relative cgroup path: components of [A-Za-z0-9._-], none "." or "..",
 * no "/" at either end. It becomes a directory under every hierarchy. */
static bool cgroup_path_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > MAX_PARENT_LEN || s[0] == '/' || s[len - 1] == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!isalnum(c) && c != '.' && c != '_' && c != '-')
				return false;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

/* An absolute path with no ".", ".." or empty-looking components and
 * nothing that would need quoting in a log line. */
static bool path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) >= 4096)
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	for (const char *c = s; *c;) {
		c += strspn(c, "/");
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
	}
	return true;
}

static bool hostname_template_ok(const char *s, const char **why)
{
	if (strlen(s) > MAX_HOSTNAME_TEMPLATE) {
		*why = "longer than 64 characters";
		return false;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '%') {
			s++;
			if (*s != 'u' && *s != 'h' && *s != 's' && *s != '%') {
				*why = "unknown %-escape (use %u, %h, %s or %%)";
				return false;
			}
		} else if (!isalnum(c) && c != '-' && c != '.') {
			*why = "only letters, digits, '-', '.' and %u %h %s %% are allowed";
			return false;
		}
	}
	return true;
}

int nscg_value_parse(enum nscg_key key, const char *text, const struct nscg_value_ctx *ctx,
		     struct nscg_value *v, char *why, size_t whylen)
{
	const struct key_def *k = &nscg_keys[key];
	uint64_t n = 0;
	int r;

	v->str = NULL;
	v->cpus = NULL;
	if (!*text && k->type != T_HOSTNAME && k->type != T_WORDS && k->type != T_GROUP) {
		snprintf(why, whylen, "empty value");
		return -EINVAL;
	}
	switch (k->type) {
	case T_ON_ERROR:
		if (word_eq(text, "deny"))
			v->num = NSCG_ON_ERROR_DENY;
		else if (word_eq(text, "allow"))
			v->num = NSCG_ON_ERROR_ALLOW;
		else
			goto bad_word;
		return 0;
	case T_MODE:
		if (word_eq(text, "auto"))
			v->num = NSCG_MODE_AUTO;
		else if (word_eq(text, "standalone"))
			v->num = NSCG_MODE_STANDALONE;
		else if (word_eq(text, "systemd"))
			v->num = NSCG_MODE_SYSTEMD;
		else
			goto bad_word;
		return 0;
	case T_CGROUP_PATH:
		if (!cgroup_path_ok(text)) {
			snprintf(why, whylen,
				 "must be a relative cgroup path of letters, digits, '.', '_' and '-' (at most %d characters, no '.' or '..')",
				 MAX_PARENT_LEN);
			return -EINVAL;
		}
		break;
	case T_PATH:
		if (!path_ok(text)) {
			snprintf(why, whylen,
				 "must be an absolute path without '.' or '..' components or spaces");
			return -EINVAL;
		}
		break;
	case T_WORDS:
		if (for_each_word(text, service_word, NULL) < 0) {
			snprintf(why, whylen,
				 "service names may hold letters, digits, '.', '_', '-' and '@', separated by spaces or commas");
			return -EINVAL;
		}
		break;
	case T_BOOL:
		if (!parse_bool(text, &v->num)) {
			snprintf(why, whylen, "expected yes or no");
			return -EINVAL;
		}
		return 0;
	case T_SESSIONS:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return 0;
		}
		if (nscg_parse_u64(text, &n) < 0 || n < 1 || n > 100000) {
			snprintf(why, whylen,
				 "expected a count from 1 to 100000, or max");
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_CGROUP_COUNT:
	case T_CGROUP_DEPTH: {
		unsigned most = k->type == T_CGROUP_COUNT ? NSCG_DELEGATE_MAX : NSCG_DELEGATE_MAX_DEPTH;
		if (nscg_parse_u64(text, &n) < 0 || n < 1 || n > most) {
			snprintf(why, whylen, "expected a count from 1 to %u", most);
			return -EINVAL;
		}
		v->num = n;
		return 0;
	}
	case T_NAMESPACES:
		if (word_eq(text, "none")) {
			v->num = 0;
			return 0;
		}
		if (for_each_word(text, ns_word, &n) < 0) {
			snprintf(why, whylen,
				 "expected a list of cgroup, mount, ipc, uts, or none");
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_HOSTNAME: {
		const char *w = NULL;
		if (!hostname_template_ok(text, &w)) {
			snprintf(why, whylen, "%s", w);
			return -EINVAL;
		}
		break;
	}
	case T_GROUP:
		if (*text && !nscg_name_is_valid(text)) {
			snprintf(why, whylen,
				 "expected a group name or number (1 to %d characters without '/', ':', spaces or control characters)",
				 NSCG_NAME_MAX);
			return -EINVAL;
		}
		break;
	case T_PRIVATE_TMP:
		if (word_eq(text, "host"))
			v->num = NSCG_TMP_HOST;
		else if (word_eq(text, "user"))
			v->num = NSCG_TMP_USER;
		else if (word_eq(text, "session"))
			v->num = NSCG_TMP_SESSION;
		else
			goto bad_word;
		return 0;
	case T_TMPFS_SIZE:
		if (word_eq(text, "auto")) {
			v->num = NSCG_TMPFS_AUTO;
			return 0;
		}
		__attribute__((fallthrough)); /* a size, as for memory */
	case T_MEMORY:
	case T_SWAP:
		if (k->type != T_TMPFS_SIZE && is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return 0;
		}
		if (strchr(text, '%')) {
			if (parse_percent(text, 100, &n) < 0) {
				snprintf(why, whylen,
					 "a share of RAM must be 1%% to 100%%");
				return -EINVAL;
			}
			n = ctx->physmem / 100 * n +
			    ctx->physmem % 100 * n / 100;
		} else if ((r = nscg_parse_bytes(text, &n)) < 0) {
			snprintf(why, whylen,
				 "expected a size such as 512M, 4G or 25%% (K/M/G/T are powers of 1024), or %s",
				 k->type == T_TMPFS_SIZE ? "auto" : "max");
			return -EINVAL;
		}
		if (n > NSCG_MEMORY_CEIL) {
			snprintf(why, whylen,
				 "%s is above the largest size, 1048576T; write max for no limit",
				 text);
			return -EINVAL;
		}
		if (k->type == T_TMPFS_SIZE && n < NSCG_TMPFS_FLOOR) {
			snprintf(why, whylen, "expected auto or a size of at least 1M");
			return -EINVAL;
		}
		if (k->type == T_MEMORY && n < NSCG_MEMORY_FLOOR) {
			bool bare = isdigit((unsigned char)text[strlen(text) - 1]);
			snprintf(why, whylen,
				 "%llu bytes is below the 32M floor: every login would be killed at once%s%s%s",
				 (unsigned long long)n, bare ? " (a bare number is bytes; did you mean " : "",
				 bare ? text : "", bare ? "G?)" : "");
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_CPU_MAX:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return 0;
		}
		if (parse_percent(text, 100000, &n) < 0) {
			snprintf(why, whylen,
				 "expected a percentage of one CPU from 1%% to 100000%% (e.g. 250%% for two and a half CPUs), or max");
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_WEIGHT:
		if (nscg_parse_u64(text, &n) < 0 || n < 1 || n > 10000) {
			snprintf(why, whylen, "expected a weight from 1 to 10000");
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_PIDS:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return 0;
		}
		if (nscg_parse_u64(text, &n) < 0 || n > 4194304) {
			snprintf(why, whylen,
				 "expected a number of processes up to 4194304, or max");
			return -EINVAL;
		}
		if (n < NSCG_PIDS_FLOOR) {
			snprintf(why, whylen,
				 "%llu is below the floor of %u: a login needs a few processes to start",
				 (unsigned long long)n, NSCG_PIDS_FLOOR);
			return -EINVAL;
		}
		v->num = n;
		return 0;
	case T_CPUSET: {
		struct nscg_cpuset *set = nscg_arena_alloc(ctx->arena, sizeof(*set));
		if (!set)
			return -ENOMEM;
		if (nscg_cpuset_parse(text, set) < 0) {
			snprintf(why, whylen,
				 "expected a CPU list such as 0-3,8 (CPUs 0 to %d)",
				 NSCG_MAX_CPUS - 1);
			return -EINVAL;
		}
		v->cpus = set;
		return 0;
	}
	}
	v->str = nscg_arena_strdup(ctx->arena, text);
	return v->str ? 0 : -ENOMEM;

bad_word:
	snprintf(why, whylen, "not one of the accepted words");
	return -EINVAL;
}

bool nscg_word_in_list(const char *list, const char *word)
{
	size_t wl = strlen(word);

	while (list && *list) {
		list += strspn(list, " \t,");
		size_t n = strcspn(list, " \t,");
		if (n && n == wl && !strncmp(list, word, n))
			return true;
		list += n;
	}
	return false;
}

const char *nscg_key_name(enum nscg_key key)
{
	return key < NSCG_KEY_COUNT ? nscg_keys[key].name : "?";
}

void nscg_value_format(enum nscg_key key, const struct nscg_value *v,
		       char *buf, size_t len)
{
	static const char *const on_error[] = { "deny", "allow" };
	static const char *const mode[] = { "auto", "standalone", "systemd" };

	if (!v->set) {
		snprintf(buf, len, "(not set)");
		return;
	}
	switch (nscg_keys[key].type) {
	case T_ON_ERROR:
		snprintf(buf, len, "%s", on_error[v->num & 1]);
		break;
	case T_MODE:
		snprintf(buf, len, "%s", mode[v->num < 3 ? v->num : 0]);
		break;
	case T_BOOL:
		snprintf(buf, len, "%s", v->num ? "yes" : "no");
		break;
	case T_SESSIONS:
	case T_PIDS:
	case T_WEIGHT:
	case T_CGROUP_COUNT:
	case T_CGROUP_DEPTH:
		if (v->num == NSCG_UNLIMITED)
			snprintf(buf, len, "max");
		else
			snprintf(buf, len, "%llu", (unsigned long long)v->num);
		break;
	case T_CPU_MAX:
		if (v->num == NSCG_UNLIMITED)
			snprintf(buf, len, "max");
		else
			snprintf(buf, len, "%llu%%", (unsigned long long)v->num);
		break;
	case T_PRIVATE_TMP: {
		static const char *const tmp[] = { "host", "user", "session" };
		snprintf(buf, len, "%s", tmp[v->num < 3 ? v->num : 0]);
		break;
	}
	case T_TMPFS_SIZE:
		if (v->num == NSCG_TMPFS_AUTO) {
			snprintf(buf, len, "auto");
			break;
		}
		__attribute__((fallthrough));
	case T_MEMORY:
	case T_SWAP: {
		char b[32];
		nscg_format_bytes(v->num, b, sizeof(b));
		if (v->text && strchr(v->text, '%'))
			snprintf(buf, len, "%s (%.1fG here)", v->text,
				 (double)v->num / (1u << 30));
		else
			snprintf(buf, len, "%s", b);
		break;
	}
	case T_NAMESPACES: {
		size_t o = 0;
		buf[0] = '\0';
		for (size_t i = 0; i < NSCG_NS_COUNT; i++)
			if ((v->num & nscg_ns_kinds[i].bit) && o < len)
				o += (size_t)snprintf(buf + o, len - o, "%s%s",
						      o ? " " : "", nscg_ns_kinds[i].name);
		if (!v->num)
			snprintf(buf, len, "none");
		break;
	}
	case T_HOSTNAME:
		snprintf(buf, len, "%s", *v->str ? v->str : "(keep the host's)");
		break;
	case T_GROUP:
		snprintf(buf, len, "%s", *v->str ? v->str : "(none)");
		break;
	case T_CPUSET:
		nscg_cpuset_format(v->cpus, buf, len);
		break;
	default:
		snprintf(buf, len, "%s", v->str ? v->str : "");
		break;
	}
}

