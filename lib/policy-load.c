/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading the policy: the main file and its drop-ins, each opened with
 * its owner and mode checked, read once and parsed by a line scanner
 * that reads iniparser's dialect. The scanner gives every section and
 * key its line and the section its original case, and it refuses the
 * constructs where iniparser's reading would surprise an admin
 * (continuation lines, unterminated quotes, "[]"). iniparser stays the
 * definition of the dialect: nscgctl check and the fuzz target compare
 * the two readings (policy-ini.c); a login parses once. */
#include "policy-internal.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (4u << 20)
#define MAX_DROPINS 1024

void nscg_diag_add(struct nscg_policy *p, bool error, const char *file, unsigned line,
		   const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (error)
		p->errors++;
	if (nscg_vec_grow(&p->diags, &p->cdiags, p->ndiags, sizeof(*p->diags)) < 0) {
		p->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	const char *msg = nscg_arena_strdup(&p->arena, buf);
	if (!msg) {
		p->oom = true;
		return;
	}
	p->diags[p->ndiags++] = (struct nscg_diag){
		.error = error, .file = file, .line = line, .msg = msg,
	};
}

/* ---- the line scanner ---- */

enum line_kind { L_SKIP, L_SECTION, L_VALUE, L_ERROR };

struct scanned {
	enum line_kind kind;
	char name[POLICY_MAX_LINE + 1]; /* section (original case) or key (lower) */
	char value[POLICY_MAX_LINE + 1];
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

/* ---- sections and entries ---- */

static int add_section(struct nscg_policy *p, struct section *s)
{
	if (nscg_vec_grow(&p->sections, &p->csections, p->nsections,
		     sizeof(*p->sections)) < 0)
		return -ENOMEM;
	p->sections[p->nsections++] = s;
	p->has[s->type] = true;
	return 0;
}

/* Make a section record from a header; reports and returns NULL on error. */
static struct section *new_section(struct nscg_policy *p, const char *file,
				   unsigned line, const char *header)
{
	struct section *s = nscg_arena_alloc(&p->arena, sizeof(*s));
	const char *colon = strchr(header, ':');
	char lowbuf[POLICY_MAX_LINE + 1];
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
		nscg_diag_add(p, true, file, line,
			      "unknown section [%s]: expected [global], [default], [group:NAME] or [user:NAME]",
			      nscg_escape(header, esc, sizeof(esc)));
		return NULL;
	}
	if (colon && !nscg_name_is_valid(colon + 1)) {
		nscg_diag_add(p, true, file, line,
			      "invalid name in [%s]: a user or group name is 1 to %d characters without '/', ':', spaces or control characters, and not '.' or '..'",
			      nscg_escape(header, esc, sizeof(esc)), NSCG_NAME_MAX);
		return NULL;
	}
	snprintf(lowbuf, sizeof(lowbuf), "%s", header);
	lower(lowbuf);
	s->header = nscg_arena_strdup(&p->arena, header);
	s->lower = nscg_arena_strdup(&p->arena, lowbuf);
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

	r = nscg_key_find(key_name, s->type == SEC_GLOBAL, &key);
	if (r == -ENOENT) {
		nscg_diag_add(p, true, s->file, line, "unknown key '%s' in [%s]",
			      nscg_escape(key_name, esc, sizeof(esc)),
			      nscg_escape(s->header, esc2, sizeof(esc2)));
		return;
	}
	if (r == -EPERM) {
		nscg_diag_add(p, true, s->file, line,
			      s->type == SEC_GLOBAL ?
				      "'%s' belongs in [default], [group:NAME] or [user:NAME], not [%s]" :
				      "'%s' is only allowed in [global], not [%s]",
			      key_name, nscg_escape(s->header, esc2, sizeof(esc2)));
		return;
	}
	r = nscg_value_parse(key, text, &(struct nscg_value_ctx){ p->opts.physmem, &p->arena }, &v,
			     why, sizeof(why));
	if (r == -ENOMEM) {
		p->oom = true;
		return;
	}
	if (r < 0) {
		nscg_diag_add(p, true, s->file, line, "%s = '%s': %s", key_name,
			      nscg_escape(text, esc, sizeof(esc)), why);
		return;
	}
	v.text = nscg_arena_strdup(&p->arena, text);
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
		nscg_diag_add(p, false, s->file, line,
			      "%s is set again in [%s]: this line overrides line %u",
			      key_name, nscg_escape(s->header, esc2, sizeof(esc2)),
			      e->v.origin.line);
		e->v = v;
		e->pos = p->pos++;
		return;
	}
	struct entry *e = nscg_arena_alloc(&p->arena, sizeof(*e));
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
	if (nscg_vec_grow(&fs->v, &fs->cap, fs->n, sizeof(*fs->v)) < 0)
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

/* ---- files ---- */

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
		nscg_diag_add(p, true, file, 0, "contains a NUL byte: not a text file");
		goto out;
	}
	/* Pass 1: syntax of every line, before iniparser sees the bytes. */
	for (line = buf; line && *line; line = next) {
		size_t n = strcspn(line, "\n");
		char save = line[n];
		lineno++;
		next = save ? line + n + 1 : NULL;
		if (n > POLICY_MAX_LINE) {
			nscg_diag_add(p, true, file, lineno,
				      "line is longer than %d characters", POLICY_MAX_LINE);
			continue;
		}
		line[n] = '\0';
		char *t = line + n;
		while (t > line && isspace((unsigned char)t[-1]))
			t--;
		if (t > line && t[-1] == '\\') {
			nscg_diag_add(p, true, file, lineno,
				      "line ends with '\\': continuation lines are not supported");
		} else {
			char copy[POLICY_MAX_LINE + 1];
			memcpy(copy, line, n + 1);
			scan_line(copy, sc);
			if (sc->kind == L_ERROR)
				nscg_diag_add(p, true, file, lineno, "%s", sc->why);
		}
		line[n] = save;
	}
	/* Pass 2: sections and values, with their lines. */
	lineno = 0;
	for (line = buf; line && *line; line = next) {
		size_t n = strcspn(line, "\n");
		char copy[POLICY_MAX_LINE + 1], esc[96];

		lineno++;
		next = line[n] ? line + n + 1 : NULL;
		if (n > POLICY_MAX_LINE) {
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
			char low[POLICY_MAX_LINE + 1];
			snprintf(low, sizeof(low), "%s", sc->name);
			lower(low);
			cur = fs_find(&fs, low);
			if (cur) {
				if (strcmp(cur->header, sc->name))
					nscg_diag_add(p, true, file, lineno,
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
				nscg_diag_add(p, true, file, lineno,
					      "'%s' is outside any section",
					      nscg_escape(sc->name, esc, sizeof(esc)));
			continue;
		}
		set_entry(p, cur, lineno, sc->name, sc->value);
	}
	/* nscgctl check and the fuzz target hold this reading to iniparser's;
	 * a login reads each file once. */
	if (p->errors == errors && !p->oom && p->opts.dialect_check)
		p->opts.dialect_check(p, &(struct nscg_policy_file){ file, buf, len, fs.v, fs.n });
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
	const char *file = nscg_arena_strdup(&p->arena, display);
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
		nscg_diag_add(p, true, file, 0, "cannot open: %s%s", strerror(errno),
			      errno == ELOOP ? " (symbolic links are refused)" : "");
		return;
	}
	if (fstat(fd, &st) < 0) {
		nscg_diag_add(p, true, file, 0, "cannot stat: %s", strerror(errno));
		return;
	}
	/* Whoever can write the policy decides every login's limits and
	 * whether sandboxing happens at all: only its owner may. */
	if (!S_ISREG(st.st_mode)) {
		nscg_diag_add(p, true, file, 0, "refused: not a regular file");
		return;
	}
	if (st.st_uid != p->opts.trusted_uid) {
		nscg_diag_add(p, true, file, 0, "refused: owned by uid %u, not %u",
			      (unsigned)st.st_uid, (unsigned)p->opts.trusted_uid);
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		nscg_diag_add(p, true, file, 0,
			      "refused: writable by %s (mode %04o); run chmod go-w",
			      (st.st_mode & S_IWOTH) ? "others" : "its group",
			      (unsigned)(st.st_mode & 07777));
		return;
	}
	r = nscg_read_fd(fd, MAX_FILE_SIZE, &buf, &len);
	if (r < 0) {
		nscg_diag_add(p, true, file, 0, "cannot read: %s", strerror(-r));
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
	_cleanup_closedir_ DIR *dp = NULL;
	struct stat st;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		if (errno != ENOENT)
			nscg_diag_add(p, true, dir, 0, "cannot open drop-in directory: %s",
				      strerror(errno));
		return;
	}
	if (fstat(dfd, &st) < 0 || st.st_uid != p->opts.trusted_uid ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		nscg_diag_add(p, true, dir, 0,
			      "refused: the drop-in directory must be owned by uid %u and not writable by group or others",
			      (unsigned)p->opts.trusted_uid);
		return;
	}
	if (!(dp = nscg_opendir_at(dfd))) {
		nscg_diag_add(p, true, dir, 0, "cannot list: %s", strerror(errno));
		return;
	}
	for (struct dirent *de; (de = readdir(dp));) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".conf"))
			continue;
		if (n == MAX_DROPINS) {
			nscg_diag_add(p, true, dir, 0, "more than %d drop-in files",
				      MAX_DROPINS);
			break;
		}
		char *copy = nscg_arena_strdup(&p->arena, de->d_name);
		if (!copy || nscg_vec_grow(&names, &cap, n, sizeof(*names)) < 0) {
			p->oom = true;
			break;
		}
		names[n++] = copy;
	}
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
	if (!nscg_keys[k].def)
		return;
	if (nscg_value_parse(k, nscg_keys[k].def, &(struct nscg_value_ctx){ p->opts.physmem, &p->arena },
			     v, why, sizeof(why)) < 0) {
		p->oom = true; /* built-in defaults always parse */
		return;
	}
	v->set = true;
	v->text = nscg_keys[k].def;
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
			nscg_diag_add(p, false, b->file, b->line,
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
		nscg_diag_add(p, false, sv->origin.file, sv->origin.line,
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
	dir = dir_tmp ? nscg_arena_strdup(&p->arena, dir_tmp) : NULL;
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
	nscg_arena_free(&p->arena);
	free(p->sections);
	free(p->diags);
	free(p);
}

bool nscg_policy_has_groups(const struct nscg_policy *p)
{
	return p->has[SEC_GROUP];
}

bool nscg_policy_has_users(const struct nscg_policy *p)
{
	return p->has[SEC_USER];
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
