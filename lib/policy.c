/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy loading and resolution.
 *
 * iniparser does the parsing. It keeps no line numbers, folds section and
 * key names to lower case and quietly accepts some odd lines, so each file
 * is also read by a small line scanner (scan_line) that mirrors iniparser's
 * line grammar. The scanner gives every section and key its line and the
 * section its original case, and it refuses the constructs where
 * iniparser's behaviour would surprise an admin (continuation lines,
 * unterminated quotes, "[]"). Both read the very same bytes: the file is
 * read once and handed to iniparser through a sealed memfd. */
#include "policy.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iniparser/iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (4u << 20)
#define MAX_DROPINS 1024
/* iniparser's line buffer is 1024 bytes; stay clear of it. */
#define MAX_LINE 1000
#define MAX_CPUS 1024
#define CPU_WORDS (MAX_CPUS / 64)
#define MAX_PARENT_LEN 128
#define MAX_HOSTNAME_TEMPLATE 64

enum key_type {
	T_ON_ERROR,
	T_MODE,
	T_CGROUP_PATH,
	T_PATH,
	T_WORDS,
	T_BOOL,
	T_SESSIONS,
	T_NAMESPACES,
	T_HOSTNAME,
	T_MEMORY, /* memory.max, memory.high: at least NSCG_MEMORY_FLOOR */
	T_SWAP,
	T_CPU_MAX,
	T_WEIGHT,
	T_PIDS,
	T_CPUSET,
	T_TMPFS_SIZE, /* shm_size, tmp_size: auto or a size */
	T_PRIVATE_TMP,
};

struct key_def {
	const char *name;
	enum key_type type;
	bool limit; /* several groups: the most generous value wins */
	const char *def; /* built-in default, parsed like a file value */
};

#define LIMIT_DEFS(prefix)                                                     \
	{ prefix "memory.max", T_MEMORY, true, NULL },                         \
	{ prefix "memory.high", T_MEMORY, true, NULL },                        \
	{ prefix "memory.swap.max", T_SWAP, true, NULL },                      \
	{ prefix "cpu.max", T_CPU_MAX, true, NULL },                           \
	{ prefix "cpu.weight", T_WEIGHT, true, NULL },                         \
	{ prefix "pids.max", T_PIDS, true, NULL },                             \
	{ prefix "io.weight", T_WEIGHT, true, NULL },                          \
	{ prefix "cpuset.cpus", T_CPUSET, true, NULL }

static const struct key_def keys[NSCG_KEY_COUNT] = {
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
	LIMIT_DEFS("user."),
	LIMIT_DEFS("session."),
};

static const char *const ns_names[] = { "cgroup", "mount", "ipc", "uts" };

/* ---- arena: every string and record of a policy, freed at once ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct arena_chunk *c = a->head;

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

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

/* Make room for one more element in a malloc'd array *vp of *cap elements
 * holding n: doubles the capacity when full. */
static int vec_grow(void *vp, size_t *cap, size_t n, size_t elem)
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

/* ---- the loaded policy ---- */

enum section_type { SEC_GLOBAL, SEC_DEFAULT, SEC_GROUP, SEC_USER };

struct entry {
	struct entry *next;
	enum nscg_key key;
	unsigned pos; /* reading order over all files */
	struct nscg_value v;
};

struct section {
	enum section_type type;
	const char *name; /* user or group name, original case */
	const char *header; /* as written between the brackets */
	const char *lower; /* header as iniparser stores it */
	const char *file;
	unsigned line;
	struct entry *entries;
};

struct nscg_policy {
	struct arena arena;
	struct nscg_load_opts opts;
	struct section **sections;
	size_t nsections, csections;
	struct nscg_diag *diags;
	size_t ndiags, cdiags;
	unsigned errors;
	unsigned pos;
	bool oom;
	struct nscg_value global[NSCG_KEY_FIRST_SCOPED];
	struct nscg_value defaults[NSCG_KEY_COUNT];
};

static void diag(struct nscg_policy *p, bool error, const char *file,
		 unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void diag(struct nscg_policy *p, bool error, const char *file,
		 unsigned line, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (error)
		p->errors++;
	if (vec_grow(&p->diags, &p->cdiags, p->ndiags, sizeof(*p->diags)) < 0) {
		p->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	const char *msg = arena_strdup(&p->arena, buf);
	if (!msg) {
		p->oom = true;
		return;
	}
	p->diags[p->ndiags++] = (struct nscg_diag){
		.error = error, .file = file, .line = line, .msg = msg,
	};
}

/* ---- value parsing ---- */

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

/* "N%" with 1 <= N <= max_pct; returns false if s has no '%'. */
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

struct cpuset {
	uint64_t w[CPU_WORDS];
};

static int cpuset_parse(const char *s, struct cpuset *set)
{
	memset(set, 0, sizeof(*set));
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		lo = strtoul(s, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= MAX_CPUS)
			return -ERANGE;
		for (unsigned long c = lo; c <= hi; c++)
			set->w[c / 64] |= 1ull << (c % 64);
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -EINVAL;
		s = end;
	}
	return 0;
}

static void cpuset_format(const struct cpuset *set, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (!(set->w[c / 64] & (1ull << (c % 64))))
			continue;
		unsigned end = c;
		while (end + 1 < MAX_CPUS &&
		       (set->w[(end + 1) / 64] & (1ull << ((end + 1) % 64))))
			end++;
		int n = end == c ? snprintf(buf + o, len - o, "%s%u",
					    o ? "," : "", c)
				 : snprintf(buf + o, len - o, "%s%u-%u",
					    o ? "," : "", c, end);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
		c = end;
	}
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

	for (size_t i = 0; i < ELEMENTSOF(ns_names); i++) {
		if (strlen(ns_names[i]) == n && !strncmp(w, ns_names[i], n)) {
			*mask |= 1u << i;
			return 0;
		}
	}
	return -EINVAL;
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

/* Parse text for key into v (num/str). On error, returns false and sets
 * *why to a message fragment. Strings are copied into the policy arena. */
static bool parse_value(struct nscg_policy *p, enum nscg_key key,
			const char *text, struct nscg_value *v, char *why,
			size_t whylen)
{
	const struct key_def *k = &keys[key];
	uint64_t n = 0;
	int r;

	v->str = NULL;
	if (!*text && k->type != T_HOSTNAME && k->type != T_WORDS) {
		snprintf(why, whylen, "empty value");
		return false;
	}
	switch (k->type) {
	case T_ON_ERROR:
		if (word_eq(text, "deny"))
			v->num = NSCG_ON_ERROR_DENY;
		else if (word_eq(text, "allow"))
			v->num = NSCG_ON_ERROR_ALLOW;
		else
			goto bad_word;
		return true;
	case T_MODE:
		if (word_eq(text, "auto"))
			v->num = NSCG_MODE_AUTO;
		else if (word_eq(text, "standalone"))
			v->num = NSCG_MODE_STANDALONE;
		else if (word_eq(text, "systemd"))
			v->num = NSCG_MODE_SYSTEMD;
		else
			goto bad_word;
		return true;
	case T_CGROUP_PATH:
		if (!cgroup_path_ok(text)) {
			snprintf(why, whylen,
				 "must be a relative cgroup path of letters, digits, '.', '_' and '-' (at most %d characters, no '.' or '..')",
				 MAX_PARENT_LEN);
			return false;
		}
		break;
	case T_PATH:
		if (!path_ok(text)) {
			snprintf(why, whylen,
				 "must be an absolute path without '.' or '..' components or spaces");
			return false;
		}
		break;
	case T_WORDS:
		if (for_each_word(text, service_word, NULL) < 0) {
			snprintf(why, whylen,
				 "service names may hold letters, digits, '.', '_', '-' and '@', separated by spaces or commas");
			return false;
		}
		break;
	case T_BOOL:
		if (!parse_bool(text, &v->num)) {
			snprintf(why, whylen, "expected yes or no");
			return false;
		}
		return true;
	case T_SESSIONS:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return true;
		}
		if (nscg_parse_u64(text, &n) < 0 || n < 1 || n > 100000) {
			snprintf(why, whylen,
				 "expected a count from 1 to 100000, or max");
			return false;
		}
		v->num = n;
		return true;
	case T_NAMESPACES:
		if (word_eq(text, "none")) {
			v->num = 0;
			return true;
		}
		if (for_each_word(text, ns_word, &n) < 0) {
			snprintf(why, whylen,
				 "expected a list of cgroup, mount, ipc, uts, or none");
			return false;
		}
		v->num = n;
		return true;
	case T_HOSTNAME: {
		const char *w = NULL;
		if (!hostname_template_ok(text, &w)) {
			snprintf(why, whylen, "%s", w);
			return false;
		}
		break;
	}
	case T_PRIVATE_TMP:
		if (word_eq(text, "host"))
			v->num = NSCG_TMP_HOST;
		else if (word_eq(text, "user"))
			v->num = NSCG_TMP_USER;
		else if (word_eq(text, "session"))
			v->num = NSCG_TMP_SESSION;
		else
			goto bad_word;
		return true;
	case T_TMPFS_SIZE:
		if (word_eq(text, "auto")) {
			v->num = NSCG_TMPFS_AUTO;
			return true;
		}
		__attribute__((fallthrough)); /* a size, as for memory */
	case T_MEMORY:
	case T_SWAP:
		if (k->type != T_TMPFS_SIZE && is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return true;
		}
		if (strchr(text, '%')) {
			if (parse_percent(text, 100, &n) < 0) {
				snprintf(why, whylen,
					 "a share of RAM must be 1%% to 100%%");
				return false;
			}
			n = p->opts.physmem / 100 * n +
			    p->opts.physmem % 100 * n / 100;
		} else if ((r = nscg_parse_bytes(text, &n)) < 0) {
			snprintf(why, whylen,
				 "expected a size such as 512M, 4G or 25%% (K/M/G/T are powers of 1024), or %s",
				 k->type == T_TMPFS_SIZE ? "auto" : "max");
			return false;
		}
		if (n > NSCG_MEMORY_CEIL) {
			snprintf(why, whylen,
				 "%s is above the largest size, 1048576T; write max for no limit",
				 text);
			return false;
		}
		if (k->type == T_TMPFS_SIZE && n < NSCG_TMPFS_FLOOR) {
			snprintf(why, whylen, "expected auto or a size of at least 1M");
			return false;
		}
		if (k->type == T_MEMORY && n < NSCG_MEMORY_FLOOR) {
			bool bare = isdigit((unsigned char)text[strlen(text) - 1]);
			snprintf(why, whylen,
				 "%llu bytes is below the 32M floor: every login would be killed at once%s%s%s",
				 (unsigned long long)n, bare ? " (a bare number is bytes; did you mean " : "",
				 bare ? text : "", bare ? "G?)" : "");
			return false;
		}
		v->num = n;
		return true;
	case T_CPU_MAX:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return true;
		}
		if (parse_percent(text, 100000, &n) < 0) {
			snprintf(why, whylen,
				 "expected a percentage of one CPU from 1%% to 100000%% (e.g. 250%% for two and a half CPUs), or max");
			return false;
		}
		v->num = n;
		return true;
	case T_WEIGHT:
		if (nscg_parse_u64(text, &n) < 0 || n < 1 || n > 10000) {
			snprintf(why, whylen, "expected a weight from 1 to 10000");
			return false;
		}
		v->num = n;
		return true;
	case T_PIDS:
		if (is_unlimited(text)) {
			v->num = NSCG_UNLIMITED;
			return true;
		}
		if (nscg_parse_u64(text, &n) < 0 || n > 4194304) {
			snprintf(why, whylen,
				 "expected a number of processes up to 4194304, or max");
			return false;
		}
		if (n < NSCG_PIDS_FLOOR) {
			snprintf(why, whylen,
				 "%llu is below the floor of %u: a login needs a few processes to start",
				 (unsigned long long)n, NSCG_PIDS_FLOOR);
			return false;
		}
		v->num = n;
		return true;
	case T_CPUSET: {
		struct cpuset set;
		char buf[4096];
		if (cpuset_parse(text, &set) < 0) {
			snprintf(why, whylen,
				 "expected a CPU list such as 0-3,8 (CPUs 0 to %d)",
				 MAX_CPUS - 1);
			return false;
		}
		cpuset_format(&set, buf, sizeof(buf));
		v->str = arena_strdup(&p->arena, buf);
		return v->str != NULL;
	}
	}
	v->str = arena_strdup(&p->arena, text);
	return v->str != NULL;

bad_word:
	snprintf(why, whylen, "not one of the accepted words");
	return false;
}

/* ---- the line scanner ---- */

enum line_kind { L_SKIP, L_SECTION, L_VALUE, L_ERROR };

struct scanned {
	enum line_kind kind;
	char name[MAX_LINE + 1]; /* section (original case) or key (lower) */
	char value[MAX_LINE + 1];
	const char *why; /* L_ERROR */
	bool header; /* the line starts with '[' */
};

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Classify one line the way iniparser_line() of iniparser 4.1 does, but
 * refuse what it would accept in a surprising way. */
static void scan_line(char *line, struct scanned *out)
{
	char *s = strip(line), *eq, *val;
	size_t len = strlen(s);

	out->kind = L_ERROR;
	out->value[0] = '\0';
	out->header = s[0] == '[';
	if (len == 0 || s[0] == '#' || s[0] == ';') {
		out->kind = L_SKIP;
		return;
	}
	if (s[0] == '[' && s[len - 1] == ']') {
		s[len - 1] = '\0';
		if (strchr(s + 1, ']') || strchr(s + 1, '[')) {
			out->why = "a section header holds one name: [user:NAME]";
			return;
		}
		s = strip(s + 1);
		if (!*s) {
			out->why = "empty section name";
			return;
		}
		snprintf(out->name, sizeof(out->name), "%s", s);
		out->kind = L_SECTION;
		return;
	}
	if (s[0] == '[') {
		out->why = "a section header must end with ']' (no comment after it)";
		return;
	}
	eq = strchr(s, '=');
	if (!eq || eq == s) {
		out->why = eq ? "missing key name before '='" :
				"expected 'key = value', '[section]' or a comment";
		return;
	}
	*eq = '\0';
	snprintf(out->name, sizeof(out->name), "%s", strip(s));
	lower(out->name);
	val = eq + 1;
	while (isspace((unsigned char)*val))
		val++;
	if (*val == '"' || *val == '\'') {
		char q = *val, *end = strchr(val + 1, q), *rest;
		if (!end) {
			out->why = "unterminated quote";
			return;
		}
		rest = end + 1;
		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest && *rest != '#' && *rest != ';') {
			out->why = "text after the closing quote";
			return;
		}
		*end = '\0';
		snprintf(out->value, sizeof(out->value), "%s", val + 1);
	} else {
		val[strcspn(val, ";#")] = '\0';
		snprintf(out->value, sizeof(out->value), "%s", strip(val));
	}
	out->kind = L_VALUE;
}

/* ---- reading one file ---- */

static int iniparser_quiet(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* Hand exactly these bytes to iniparser, which only takes a path: a
 * sealed memfd reached through /proc. iniparser fopen()s it without
 * O_CLOEXEC and closes it before returning; the module calls this only
 * from a caller it has checked is single-threaded, so no exec can
 * inherit it. Returns 0 or -errno of our own steps; *out is NULL when
 * iniparser itself refused the bytes. */
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
	/* iniparser would otherwise print to the caller's stderr. The
	 * callback is process-wide; the module is linked -z nodelete so it
	 * stays valid. */
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

static int add_section(struct nscg_policy *p, struct section *s)
{
	if (vec_grow(&p->sections, &p->csections, p->nsections,
		     sizeof(*p->sections)) < 0)
		return -ENOMEM;
	p->sections[p->nsections++] = s;
	return 0;
}

static int find_key(const char *name, bool global, enum nscg_key *out)
{
	for (int k = 0; k < NSCG_KEY_COUNT; k++) {
		if (strcmp(keys[k].name, name))
			continue;
		if ((k < NSCG_KEY_FIRST_SCOPED) != global)
			return -EPERM;
		*out = (enum nscg_key)k;
		return 0;
	}
	return -ENOENT;
}

/* Make a section record from a header; reports and returns NULL on error. */
static struct section *new_section(struct nscg_policy *p, const char *file,
				   unsigned line, const char *header)
{
	struct section *s = arena_alloc(&p->arena, sizeof(*s));
	const char *colon = strchr(header, ':');
	char lowbuf[MAX_LINE + 1];
	char esc[96];

	if (!s) {
		p->oom = true;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->file = file;
	s->line = line;
	if (!colon && nscg_streq_icase(header, "global"))
		s->type = SEC_GLOBAL;
	else if (!colon && nscg_streq_icase(header, "default"))
		s->type = SEC_DEFAULT;
	else if (colon && (size_t)(colon - header) == 4 &&
		 !strncasecmp(header, "user", 4))
		s->type = SEC_USER;
	else if (colon && (size_t)(colon - header) == 5 &&
		 !strncasecmp(header, "group", 5))
		s->type = SEC_GROUP;
	else {
		diag(p, true, file, line,
		     "unknown section [%s]: expected [global], [default], [group:NAME] or [user:NAME]",
		     nscg_escape(header, esc, sizeof(esc)));
		return NULL;
	}
	if (colon && !nscg_name_is_valid(colon + 1)) {
		diag(p, true, file, line,
		     "invalid name in [%s]: a user or group name is 1 to %d characters without '/', ':', spaces or control characters, and not '.' or '..'",
		     nscg_escape(header, esc, sizeof(esc)), NSCG_NAME_MAX);
		return NULL;
	}
	snprintf(lowbuf, sizeof(lowbuf), "%s", header);
	lower(lowbuf);
	s->header = arena_strdup(&p->arena, header);
	s->lower = arena_strdup(&p->arena, lowbuf);
	s->name = colon ? s->header + (colon - header) + 1 : NULL;
	if (!s->header || !s->lower) {
		p->oom = true;
		return NULL;
	}
	return s;
}

/* Record key = text in section s, parsed; later lines override earlier. */
static void set_entry(struct nscg_policy *p, struct section *s, unsigned line,
		      const char *key_name, const char *text)
{
	char why[320], esc[96], esc2[96];
	struct nscg_value v = { .set = true };
	enum nscg_key key;
	int r;

	r = find_key(key_name, s->type == SEC_GLOBAL, &key);
	if (r == -ENOENT) {
		diag(p, true, s->file, line, "unknown key '%s' in [%s]",
		     nscg_escape(key_name, esc, sizeof(esc)),
		     nscg_escape(s->header, esc2, sizeof(esc2)));
		return;
	}
	if (r == -EPERM) {
		diag(p, true, s->file, line,
		     s->type == SEC_GLOBAL ?
			     "'%s' belongs in [default], [group:NAME] or [user:NAME], not [%s]" :
			     "'%s' is only allowed in [global], not [%s]",
		     key_name, nscg_escape(s->header, esc2, sizeof(esc2)));
		return;
	}
	if (!parse_value(p, key, text, &v, why, sizeof(why))) {
		if (p->oom)
			return;
		diag(p, true, s->file, line, "%s = '%s': %s", key_name,
		     nscg_escape(text, esc, sizeof(esc)), why);
		return;
	}
	v.text = arena_strdup(&p->arena, text);
	if (!v.text) {
		p->oom = true;
		return;
	}
	v.origin = (struct nscg_origin){
		.file = s->file, .section = s->header, .line = line,
	};
	for (struct entry *e = s->entries; e; e = e->next) {
		if (e->key != key)
			continue;
		diag(p, false, s->file, line,
		     "%s is set again in [%s]: this line overrides line %u",
		     key_name, nscg_escape(s->header, esc2, sizeof(esc2)),
		     e->v.origin.line);
		e->v = v;
		e->pos = p->pos++;
		return;
	}
	struct entry *e = arena_alloc(&p->arena, sizeof(*e));
	if (!e) {
		p->oom = true;
		return;
	}
	*e = (struct entry){ .next = s->entries, .key = key, .pos = p->pos++, .v = v };
	s->entries = e;
}

/* One file's sections in reading order, with a hash of their lower-case
 * names: a large policy has thousands, looked up once per header. */
struct file_sections {
	struct section **v; /* NULL for a refused header */
	size_t n, cap;
	size_t *slot; /* open addressing: index into v plus one, 0 = empty */
	size_t nslot;
};

static size_t hash_str(const char *s)
{
	size_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct section *fs_find(const struct file_sections *fs,
			       const char *lower_name)
{
	if (!fs->nslot)
		return NULL;
	for (size_t i = hash_str(lower_name) & (fs->nslot - 1);;
	     i = (i + 1) & (fs->nslot - 1)) {
		if (!fs->slot[i])
			return NULL;
		struct section *sec = fs->v[fs->slot[i] - 1];
		if (!strcmp(sec->lower, lower_name))
			return sec;
	}
}

static void fs_hash(struct file_sections *fs, size_t idx)
{
	size_t i = hash_str(fs->v[idx]->lower) & (fs->nslot - 1);
	while (fs->slot[i])
		i = (i + 1) & (fs->nslot - 1);
	fs->slot[i] = idx + 1;
}

static int fs_add(struct file_sections *fs, struct section *sec)
{
	if (vec_grow(&fs->v, &fs->cap, fs->n, sizeof(*fs->v)) < 0)
		return -ENOMEM;
	fs->v[fs->n++] = sec;
	if (!sec)
		return 0;
	/* Keep the table at most half full. */
	if (fs->n * 2 > fs->nslot) {
		size_t nslot = fs->nslot ? fs->nslot * 2 : 64;
		while (nslot < fs->n * 2)
			nslot *= 2;
		size_t *slot = calloc(nslot, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		free(fs->slot);
		fs->slot = slot;
		fs->nslot = nslot;
		for (size_t i = 0; i < fs->n; i++)
			if (fs->v[i])
				fs_hash(fs, i);
	} else {
		fs_hash(fs, fs->n - 1);
	}
	return 0;
}

/* Load the same bytes with iniparser and compare: every key we recorded
 * must hold the value iniparser stores for it. The scanner mirrors
 * iniparser's grammar, so a difference is a line we would misread. */
static void check_with_iniparser(struct nscg_policy *p, const char *file,
				 const char *buf, size_t len,
				 struct section **mine, size_t nmine)
{
	struct ini_index ix = { 0 };
	dictionary *d;
	int r = ini_load_bytes(buf, len, &d);

	if (r < 0) {
		diag(p, true, file, 0, "cannot hand the file to iniparser: %s",
		     strerror(-r));
		return;
	}
	if (!d) {
		diag(p, true, file, 0, "iniparser could not load this file");
		return;
	}
	if (ini_index_build(&ix, d) < 0) {
		p->oom = true;
		iniparser_freedict(d);
		return;
	}
	for (size_t i = 0; i < nmine; i++) {
		for (struct entry *e = mine[i] ? mine[i]->entries : NULL; e;
		     e = e->next) {
			char key[2 * MAX_LINE + 2];
			snprintf(key, sizeof(key), "%s:%s", mine[i]->lower,
				 keys[e->key].name);
			const char *val = ini_index_get(&ix, key);
			if (!val || strcmp(val, e->v.text))
				diag(p, true, file, e->v.origin.line,
				     "iniparser reads this line differently; write it as 'key = value'");
		}
	}
	free(ix.pairs);
	iniparser_freedict(d);
}

/* Parse one file's bytes. Sections are only added when the whole file is
 * free of syntax errors: a refused file contributes nothing. */
static void parse_buffer(struct nscg_policy *p, const char *file, char *buf,
			 size_t len)
{
	struct scanned *sc = malloc(sizeof(*sc));
	struct file_sections fs = { 0 };
	unsigned lineno = 0, errors = p->errors;
	struct section *cur = NULL;
	char *line, *next;

	if (!sc) {
		p->oom = true;
		return;
	}
	if (memchr(buf, '\0', len)) {
		diag(p, true, file, 0, "contains a NUL byte: not a text file");
		goto out;
	}
	/* Pass 1: syntax of every line, before iniparser sees the bytes. */
	for (line = buf; line && *line; line = next) {
		size_t n = strcspn(line, "\n");
		char save = line[n];
		lineno++;
		next = save ? line + n + 1 : NULL;
		if (n > MAX_LINE) {
			diag(p, true, file, lineno,
			     "line is longer than %d characters", MAX_LINE);
			continue;
		}
		line[n] = '\0';
		char *t = line + n;
		while (t > line && isspace((unsigned char)t[-1]))
			t--;
		if (t > line && t[-1] == '\\') {
			diag(p, true, file, lineno,
			     "line ends with '\\': continuation lines are not supported");
		} else {
			char copy[MAX_LINE + 1];
			memcpy(copy, line, n + 1);
			scan_line(copy, sc);
			if (sc->kind == L_ERROR)
				diag(p, true, file, lineno, "%s", sc->why);
		}
		line[n] = save;
	}
	/* Pass 2: sections and values, with their lines. */
	lineno = 0;
	for (line = buf; line && *line; line = next) {
		size_t n = strcspn(line, "\n");
		char copy[MAX_LINE + 1], esc[96];

		lineno++;
		next = line[n] ? line + n + 1 : NULL;
		if (n > MAX_LINE) {
			/* Reported in pass 1. It may have been a header: what
			 * follows belongs to no section we know. */
			cur = NULL;
			if (fs_add(&fs, NULL) < 0) {
				p->oom = true;
				goto out;
			}
			continue;
		}
		memcpy(copy, line, n);
		copy[n] = '\0';
		scan_line(copy, sc);
		if (sc->kind == L_SECTION) {
			char low[MAX_LINE + 1];
			snprintf(low, sizeof(low), "%s", sc->name);
			lower(low);
			cur = fs_find(&fs, low);
			if (cur) {
				if (strcmp(cur->header, sc->name))
					diag(p, true, file, lineno,
					     "[%s] differs from [%s] on line %u only in case: iniparser merges them, so their keys cannot be told apart",
					     nscg_escape(sc->name, esc, sizeof(esc)),
					     cur->header, cur->line);
				continue;
			}
			cur = new_section(p, file, lineno, sc->name);
			/* A refused header still takes a slot, so the keys
			 * under it are skipped rather than misattributed. */
			if ((!cur && p->oom) || fs_add(&fs, cur) < 0) {
				p->oom = true;
				goto out;
			}
			continue;
		}
		if (sc->kind == L_ERROR && sc->header) {
			/* A broken header: what follows belongs to no section
			 * we know, not to the one before it. */
			cur = NULL;
			if (fs_add(&fs, NULL) < 0) {
				p->oom = true;
				goto out;
			}
		}
		if (sc->kind != L_VALUE) /* L_ERROR lines are reported */
			continue;
		if (!cur) {
			/* Under a refused header: that error is reported. */
			if (fs.n == 0)
				diag(p, true, file, lineno,
				     "'%s' is outside any section",
				     nscg_escape(sc->name, esc, sizeof(esc)));
			continue;
		}
		set_entry(p, cur, lineno, sc->name, sc->value);
	}
	if (p->errors == errors && !p->oom)
		check_with_iniparser(p, file, buf, len, fs.v, fs.n);
	for (size_t i = 0; i < fs.n && !p->oom; i++) {
		struct section *sec = fs.v[i];
		if (!sec)
			continue;
		/* A file with errors contributes nothing but on_error, which
		 * says what a broken policy means, and whom it exempts
		 * (enabled, skip_services): a broken policy is never applied,
		 * but must not lock out the admin who would fix it. */
		if (p->errors != errors) {
			struct entry **e = &sec->entries;
			while (*e) {
				enum nscg_key k = (*e)->key;
				if (k == NSCG_KEY_ON_ERROR || k == NSCG_KEY_SKIP_SERVICES ||
				    k == NSCG_KEY_ENABLED)
					e = &(*e)->next;
				else
					*e = (*e)->next;
			}
		}
		if (add_section(p, sec) < 0)
			p->oom = true;
	}
out:
	free(fs.v);
	free(fs.slot);
	free(sc);
}

/* Open and check one policy file, then parse it. dirfd/name as for openat. */
static void load_file(struct nscg_policy *p, int dirfd, const char *name,
		      const char *display, bool must_exist)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	const char *file = arena_strdup(&p->arena, display);
	struct stat st;
	size_t len;
	int r;

	if (!file) {
		p->oom = true;
		return;
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return;
		diag(p, true, file, 0, "cannot open: %s%s", strerror(errno),
		     errno == ELOOP ? " (symbolic links are refused)" : "");
		return;
	}
	if (fstat(fd, &st) < 0) {
		diag(p, true, file, 0, "cannot stat: %s", strerror(errno));
		return;
	}
	/* Whoever can write the policy decides every login's limits and
	 * whether sandboxing happens at all: only its owner may. */
	if (!S_ISREG(st.st_mode)) {
		diag(p, true, file, 0, "refused: not a regular file");
		return;
	}
	if (st.st_uid != p->opts.trusted_uid) {
		diag(p, true, file, 0, "refused: owned by uid %u, not %u",
		     (unsigned)st.st_uid, (unsigned)p->opts.trusted_uid);
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		diag(p, true, file, 0,
		     "refused: writable by %s (mode %04o); run chmod go-w",
		     (st.st_mode & S_IWOTH) ? "others" : "its group",
		     (unsigned)(st.st_mode & 07777));
		return;
	}
	r = nscg_read_fd(fd, MAX_FILE_SIZE, &buf, &len);
	if (r < 0) {
		diag(p, true, file, 0, "cannot read: %s", strerror(-r));
		return;
	}
	parse_buffer(p, file, buf, len);
}

static int cmp_dirent_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *nscg_policy_dropin_dir(const char *path)
{
	size_t n = strlen(path);
	char *d;

	if (n > 5 && !strcmp(path + n - 5, ".conf"))
		n -= 5;
	d = malloc(n + 3);
	if (d) {
		memcpy(d, path, n);
		memcpy(d + n, ".d", 3);
	}
	return d;
}

static void load_dropins(struct nscg_policy *p, const char *dir)
{
	_cleanup_close_ int dfd = -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	DIR *dp;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		if (errno != ENOENT)
			diag(p, true, dir, 0, "cannot open drop-in directory: %s",
			     strerror(errno));
		return;
	}
	if (fstat(dfd, &st) < 0 || st.st_uid != p->opts.trusted_uid ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		diag(p, true, dir, 0,
		     "refused: the drop-in directory must be owned by uid %u and not writable by group or others",
		     (unsigned)p->opts.trusted_uid);
		return;
	}
	int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0 || !(dp = fdopendir(dup_fd))) {
		nscg_close(dup_fd);
		diag(p, true, dir, 0, "cannot list: %s", strerror(errno));
		return;
	}
	for (struct dirent *de; (de = readdir(dp));) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".conf"))
			continue;
		if (n == MAX_DROPINS) {
			diag(p, true, dir, 0, "more than %d drop-in files",
			     MAX_DROPINS);
			break;
		}
		char *copy = arena_strdup(&p->arena, de->d_name);
		if (!copy || vec_grow(&names, &cap, n, sizeof(*names)) < 0) {
			p->oom = true;
			break;
		}
		names[n++] = copy;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_dirent_name);
	for (size_t i = 0; i < n && !p->oom; i++) {
		char display[4200];
		snprintf(display, sizeof(display), "%s/%s", dir, names[i]);
		load_file(p, dfd, names[i], display, true);
	}
	free(names);
}

static void set_default(struct nscg_policy *p, enum nscg_key k,
			struct nscg_value *v)
{
	char why[320];

	memset(v, 0, sizeof(*v));
	if (!keys[k].def)
		return;
	if (!parse_value(p, k, keys[k].def, v, why, sizeof(why))) {
		p->oom = true; /* built-in defaults always parse */
		return;
	}
	v->set = true;
	v->text = keys[k].def;
}

/* Names that differ only in case would both match nobody's expectations. */
static void lint_case(struct nscg_policy *p)
{
	for (size_t i = 0; i < p->nsections; i++) {
		const struct section *a = p->sections[i];
		if (!a->name)
			continue;
		for (size_t j = i + 1; j < p->nsections; j++) {
			const struct section *b = p->sections[j];
			if (b->type != a->type || !strcmp(a->name, b->name) ||
			    strcmp(a->lower, b->lower))
				continue;
			diag(p, false, b->file, b->line,
			     "[%s] and [%s] (%s:%u) differ only in case: names match exactly, so each applies to a different %s",
			     b->header, a->header, a->file, a->line,
			     a->type == SEC_USER ? "user" : "group");
		}
	}
}

/* The last value of key in sections of type (reading order), or NULL. */
static const struct nscg_value *last_of(const struct nscg_policy *p,
					enum section_type type, enum nscg_key key)
{
	const struct nscg_value *v = NULL;
	unsigned best = 0;

	for (size_t i = 0; i < p->nsections; i++) {
		if (p->sections[i]->type != type)
			continue;
		for (const struct entry *e = p->sections[i]->entries; e; e = e->next)
			if (e->key == key && e->pos + 1 > best) {
				v = &e->v;
				best = e->pos + 1;
			}
	}
	return v;
}

/* On cgroup v1 the kernel refuses a CPU quota above the parent's: a
 * session.cpu.max above the user.cpu.max of the same section (or of
 * [default]) can only mean the user's. The module clamps it; say so. */
static void lint_cpu_quota(struct nscg_policy *p)
{
	const enum nscg_key skey = nscg_limit_key(NSCG_LEVEL_SESSION, NSCG_CPU_MAX);
	const enum nscg_key ukey = nscg_limit_key(NSCG_LEVEL_USER, NSCG_CPU_MAX);
	const struct nscg_value *dflt = last_of(p, SEC_DEFAULT, ukey);

	for (size_t i = 0; i < p->nsections; i++) {
		const struct section *sec = p->sections[i];
		const struct nscg_value *sv = NULL, *uv = NULL;
		for (const struct entry *e = sec->entries; e; e = e->next) {
			if (e->key == skey)
				sv = &e->v;
			else if (e->key == ukey)
				uv = &e->v;
		}
		if (!uv)
			uv = dflt;
		if (!sv || !uv || uv->num == NSCG_UNLIMITED || sv->num <= uv->num)
			continue;
		diag(p, false, sv->origin.file, sv->origin.line,
		     "session.cpu.max = %s is above user.cpu.max = %s (%s:%u): a session gets at most the user's (cgroup v1 refuses more, so pam_nscg writes the user's)",
		     sv->text, uv->text, uv->origin.file, uv->origin.line);
	}
}

int nscg_policy_load(const char *path, const struct nscg_load_opts *opts,
		     struct nscg_policy **out)
{
	struct nscg_policy *p = calloc(1, sizeof(*p));
	_cleanup_free_ char *dir_tmp = NULL;
	const char *dir;

	if (!p)
		return -ENOMEM;
	if (opts)
		p->opts = *opts;
	if (!p->opts.physmem) {
		long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
		p->opts.physmem = pages > 0 && size > 0 ?
					  (uint64_t)pages * (uint64_t)size : 0;
	}
	if (!path)
		path = NSCG_CONF_PATH;
	for (int k = 0; k < NSCG_KEY_COUNT; k++)
		set_default(p, (enum nscg_key)k, &p->defaults[k]);
	/* Diagnostics point at the directory name: keep it in the arena. */
	dir_tmp = nscg_policy_dropin_dir(path);
	dir = dir_tmp ? arena_strdup(&p->arena, dir_tmp) : NULL;
	if (!dir || p->oom) {
		nscg_policy_free(p);
		return -ENOMEM;
	}
	load_file(p, AT_FDCWD, path, path, true);
	if (!p->oom)
		load_dropins(p, dir);
	if (!p->oom && p->opts.lint) {
		lint_case(p);
		lint_cpu_quota(p);
	}
	if (p->oom) {
		nscg_policy_free(p);
		return -ENOMEM;
	}
	/* [global]: later files and lines override earlier ones. */
	memcpy(p->global, p->defaults, sizeof(p->global));
	for (size_t i = 0; i < p->nsections; i++) {
		if (p->sections[i]->type != SEC_GLOBAL)
			continue;
		unsigned best[NSCG_KEY_FIRST_SCOPED] = { 0 };
		for (struct entry *e = p->sections[i]->entries; e; e = e->next) {
			if (e->pos + 1 > best[e->key]) {
				p->global[e->key] = e->v;
				best[e->key] = e->pos + 1;
			}
		}
	}
	*out = p;
	return 0;
}

void nscg_policy_free(struct nscg_policy *p)
{
	if (!p)
		return;
	arena_free(&p->arena);
	free(p->sections);
	free(p->diags);
	free(p);
}

unsigned nscg_policy_errors(const struct nscg_policy *p)
{
	return p->errors;
}

size_t nscg_policy_diag_count(const struct nscg_policy *p)
{
	return p->ndiags;
}

const struct nscg_diag *nscg_policy_diag(const struct nscg_policy *p, size_t i)
{
	return i < p->ndiags ? &p->diags[i] : NULL;
}

const struct nscg_value *nscg_policy_global(const struct nscg_policy *p,
					    enum nscg_key key)
{
	return key < NSCG_KEY_FIRST_SCOPED ? &p->global[key] : NULL;
}

/* ---- resolution ---- */

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
static int merge_group(enum nscg_key k, struct nscg_value *acc, unsigned *accpos,
		       const struct nscg_value *g, unsigned gpos,
		       struct nscg_resolved *out)
{
	if (!acc->set) {
		*acc = *g;
		*accpos = gpos;
		return 0;
	}
	if (!keys[k].limit) {
		/* Not a limit: the group section read last wins. */
		if (gpos > *accpos) {
			*acc = *g;
			*accpos = gpos;
		}
		return 0;
	}
	if (keys[k].type == T_CPUSET) {
		struct cpuset a, b;
		char buf[4096];
		if (cpuset_parse(acc->str, &a) < 0 || cpuset_parse(g->str, &b) < 0)
			return -EINVAL;
		for (int w = 0; w < CPU_WORDS; w++)
			a.w[w] |= b.w[w];
		cpuset_format(&a, buf, sizeof(buf));
		char *s = strdup(buf);
		if (!s)
			return -ENOMEM;
		free(out->owned[k]);
		out->owned[k] = s;
		acc->str = acc->text = s;
		acc->origin.merged++;
		return 0;
	}
	/* Every other limit: the larger number, max (UINT64_MAX) above all. */
	if (g->num > acc->num) {
		*acc = *g;
		*accpos = gpos;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_word_list(const char *list, const char *word)
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

int nscg_policy_resolve(const struct nscg_policy *p,
			const struct nscg_request *req,
			struct nscg_resolved *out)
{
	struct nscg_value user[NSCG_KEY_COUNT] = { 0 };
	struct nscg_value groups[NSCG_KEY_COUNT] = { 0 };
	struct nscg_value deflt[NSCG_KEY_COUNT] = { 0 };
	unsigned upos[NSCG_KEY_COUNT] = { 0 }, dpos[NSCG_KEY_COUNT] = { 0 };
	unsigned gpos[NSCG_KEY_COUNT] = { 0 };
	int r;

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
		for (int k = NSCG_KEY_FIRST_SCOPED; k < NSCG_KEY_COUNT; k++) {
			if (!one[k].set)
				continue;
			r = merge_group((enum nscg_key)k, &groups[k], &gpos[k],
					&one[k], opos[k], out);
			if (r < 0) {
				free(g);
				nscg_resolved_done(out);
				return r;
			}
		}
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
	    in_word_list(out->v[NSCG_KEY_SKIP_SERVICES].str, req->service)) {
		out->exempt = true;
		out->exempt_why = "the PAM service is listed in skip_services";
	} else if (!out->v[NSCG_KEY_ENABLED].num) {
		out->exempt = true;
		out->exempt_why = "enabled = no";
	}
	return 0;
}

void nscg_resolved_done(struct nscg_resolved *r)
{
	for (int k = 0; k < NSCG_KEY_COUNT; k++) {
		free(r->owned[k]);
		r->owned[k] = NULL;
	}
}

const char *nscg_key_name(enum nscg_key key)
{
	return key < NSCG_KEY_COUNT ? keys[key].name : "?";
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
	switch (keys[key].type) {
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
		for (size_t i = 0; i < ELEMENTSOF(ns_names); i++)
			if (v->num & (1u << i) && o < len)
				o += (size_t)snprintf(buf + o, len - o, "%s%s",
						      o ? " " : "", ns_names[i]);
		if (!v->num)
			snprintf(buf, len, "none");
		break;
	}
	case T_HOSTNAME:
		snprintf(buf, len, "%s", *v->str ? v->str : "(keep the host's)");
		break;
	default:
		snprintf(buf, len, "%s", v->str ? v->str : "");
		break;
	}
}
