/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "status.h"

#include "ns.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct collect {
	const struct nscg_host *host;
	const struct nscg_status_filter *f;
	struct nscg_status *st;
	size_t cap;
};

/* The session's short ID: what follows "session-" (standalone, logind's
 * "session-3.scope") or the last '-' (a job's nscg-UID-HEX.scope), with
 * ".scope" cut. */
static void session_id(const struct nscg_record *rec, char *buf, size_t len)
{
	const char *n = rec->session;
	const char *start = rec->mode == NSCG_REC_JOB ? strrchr(n, '-') + 1 : n + strlen("session-");
	size_t l = strlen(start);

	if (rec->mode != NSCG_REC_STANDALONE && l > 6)
		l -= 6; /* ".scope" */
	snprintf(buf, len, "%.*s", (int)l, start);
}

bool nscg_status_session_is(const struct nscg_record *rec, const char *id)
{
	char sid[48];

	session_id(rec, sid, sizeof(sid));
	return !strcmp(rec->session, id) || !strcmp(sid, id);
}

static int add_session(const struct nscg_record *rec, void *ctx)
{
	struct collect *c = ctx;
	struct nscg_status *st = c->st;

	if ((c->f->by_uid && rec->uid != c->f->uid) ||
	    (c->f->session && !nscg_status_session_is(rec, c->f->session)))
		return 0;
	if (st->nsess == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *v = realloc(st->sess, cap * sizeof(*st->sess));
		if (!v)
			return -ENOMEM;
		st->sess = v;
		c->cap = cap;
	}
	struct nscg_status_session *s = &st->sess[st->nsess++];
	memset(s, 0, sizeof(*s));
	s->rec = *rec;
	s->orphan = !nscg_record_leader_alive(rec);
	return 0;
}

/* By uid, then the cgroup that holds the session, then start: a user's
 * sessions under one user cgroup come together, whatever the name. */
static int cmp_session(const void *a, const void *b)
{
	const struct nscg_status_session *x = a, *y = b;
	const char *xs = strrchr(x->rec.cgroup, '/'), *ys = strrchr(y->rec.cgroup, '/');
	size_t xl = xs ? (size_t)(xs - x->rec.cgroup) : 0, yl = ys ? (size_t)(ys - y->rec.cgroup) : 0;

	if (x->rec.uid != y->rec.uid)
		return x->rec.uid < y->rec.uid ? -1 : 1;
	int c = strncmp(x->rec.cgroup, y->rec.cgroup, xl < yl ? xl : yl);
	if (c || xl != yl)
		return c ? c : xl < yl ? -1 : 1;
	if (x->rec.start != y->rec.start)
		return x->rec.start < y->rec.start ? -1 : 1;
	return strcmp(x->rec.session, y->rec.session);
}

/* The parent directory of a record's cgroup path, into buf. */
static void user_cgroup(const struct nscg_record *rec, char *buf, size_t len)
{
	const char *slash = strrchr(rec->cgroup, '/');

	snprintf(buf, len, "%.*s", slash ? (int)(slash - rec->cgroup) : 0, rec->cgroup);
}

/* Fill in each session's usage, dropping those whose cgroup is gone
 * (ended, or not made yet), and each user's, one user cgroup opened per
 * user: sessions of one user are next to each other. */
static int read_usage(const struct nscg_host *host, struct nscg_status *st)
{
	struct nscg_cgroup ucg;
	size_t kept = 0;
	int r = 0;

	nscg_cgroup_init(&ucg);
	for (size_t i = 0; i < st->nsess; i++) {
		struct nscg_status_session *s = &st->sess[i];
		struct nscg_status_user *u = st->nusers ? &st->users[st->nusers - 1] : NULL;
		char path[256];
		user_cgroup(&s->rec, path, sizeof(path));
		if (!u || u->uid != s->rec.uid || strcmp(u->cgroup, path)) {
			void *v = realloc(st->users, (st->nusers + 1) * sizeof(*st->users));
			if (!v) {
				r = -ENOMEM;
				break;
			}
			st->users = v;
			u = &st->users[st->nusers++];
			memset(u, 0, sizeof(*u));
			u->uid = s->rec.uid;
			snprintf(u->user, sizeof(u->user), "%s", s->rec.user);
			snprintf(u->cgroup, sizeof(u->cgroup), "%s", path);
			nscg_cgroup_close(&ucg);
			nscg_cgroup_open_existing(host, path, &ucg);
			nscg_cgroup_usage(host, &ucg, &u->u);
		}
		struct nscg_cgroup cg;
		bool exists = false;
		nscg_cgroup_open_child(host, &ucg, s->rec.session, &cg);
		for (size_t h = 0; h < host->n; h++)
			exists |= cg.fd[h] >= 0;
		if (exists) {
			nscg_cgroup_usage(host, &cg, &s->u);
			u->sessions++;
			st->sess[kept++] = *s;
		}
		nscg_cgroup_close(&cg);
	}
	nscg_cgroup_close(&ucg);
	st->nsess = kept;
	/* A user whose every session was gone is none. */
	size_t ukept = 0;
	for (size_t i = 0; i < st->nusers; i++)
		if (st->users[i].sessions)
			st->users[ukept++] = st->users[i];
	st->nusers = ukept;
	return r;
}

int nscg_status_read(const struct nscg_host *host, const struct nscg_status_filter *f,
		     struct nscg_status *st)
{
	struct collect c = { .host = host, .f = f, .st = st };
	struct timespec now;
	int r;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_REALTIME, &now);
	st->now = (uint64_t)now.tv_sec;
	st->layout = host->layout;
	r = nscg_record_each(add_session, &c);
	if (r == 0 && st->nsess) {
		qsort(st->sess, st->nsess, sizeof(*st->sess), cmp_session);
		r = read_usage(host, st);
	}
	if (r < 0)
		nscg_status_free(st);
	return r;
}

void nscg_status_free(struct nscg_status *st)
{
	free(st->sess);
	free(st->users);
	memset(st, 0, sizeof(*st));
}

/* ---- the table ---- */

static bool known(uint64_t v)
{
	return v != NSCG_USAGE_UNKNOWN;
}

/* 1.5G, 512M, 64K, 900B; "-" unknown, "max" none. */
static const char *fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned u = 0;
	double d = (double)v;

	if (!known(v))
		return "-";
	if (v == NSCG_UNLIMITED)
		return "max";
	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	if (u == 0 || d >= 10)
		snprintf(buf, len, "%.0f%c", d, units[u]);
	else
		snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

/* 45.2s, 12m05s, 3h20m, 4d07h. */
static const char *fmt_secs(uint64_t usec, char *buf, size_t len)
{
	uint64_t s = usec / 1000000;

	if (!known(usec))
		return "-";
	if (s < 60)
		snprintf(buf, len, "%llu.%01llus", (unsigned long long)s,
			 (unsigned long long)(usec % 1000000 / 100000));
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

static const char *fmt_count(uint64_t v, char *buf, size_t len)
{
	if (!known(v))
		return "-";
	if (v == NSCG_UNLIMITED)
		return "max";
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* "a/b" of two counts or byte sizes. */
static const char *fmt_pair(uint64_t a, uint64_t b, bool bytes, char *buf, size_t len)
{
	char x[24], y[24];

	snprintf(buf, len, "%s/%s", bytes ? fmt_bytes(a, x, sizeof(x)) : fmt_count(a, x, sizeof(x)),
		 bytes ? fmt_bytes(b, y, sizeof(y)) : fmt_count(b, y, sizeof(y)));
	return buf;
}

/* Throttling: time where v2 counts it, else periods ("123p"). */
static const char *fmt_throttled(const struct nscg_usage *u, char *buf, size_t len)
{
	if (known(u->throttled_usec))
		return fmt_secs(u->throttled_usec, buf, len);
	if (known(u->nr_throttled)) {
		snprintf(buf, len, "%llup", (unsigned long long)u->nr_throttled);
		return buf;
	}
	return "-";
}

/* At most w columns of s; a longer one ends in '~'. */
static void cell(FILE *f, const char *s, int w)
{
	int n = (int)strlen(s);

	if (n <= w)
		fprintf(f, "%-*s ", w, s);
	else
		fprintf(f, "%.*s~ ", w - 1, s);
}

/* Where the login came from: the tty without /dev/, and the remote host. */
static void fmt_from(const struct nscg_record *rec, char *buf, size_t len)
{
	const char *tty = !strncmp(rec->tty, "/dev/", 5) ? rec->tty + 5 : rec->tty;

	if (*tty && *rec->rhost)
		snprintf(buf, len, "%s %s", tty, rec->rhost);
	else
		snprintf(buf, len, "%s", *tty ? tty : *rec->rhost ? rec->rhost : "-");
}

/* USER(12) ID(9) SERVICE(7) FROM(14) AGE(6) TASKS(9) CPU(7) THROT(6)
 * MEMORY now/peak/max(16) OOM(3): 89 columns and nine spaces. */
#define ROW "%-12s %-9s %-7s %-14s %-6s %-9s %-7s %-6s %-16s %s\n"

static void usage_cells(FILE *f, const struct nscg_usage *u)
{
	char tasks[56], cpu[24], thr[24], mem[64], c[16], p[16], m[16], oom[24];

	fmt_pair(u->tasks, u->tasks_max, false, tasks, sizeof(tasks));
	snprintf(mem, sizeof(mem), "%s/%s/%s", fmt_bytes(u->mem_current, c, sizeof(c)),
		 fmt_bytes(u->mem_peak, p, sizeof(p)), fmt_bytes(u->mem_max, m, sizeof(m)));
	cell(f, tasks, 9);
	cell(f, fmt_secs(u->cpu_usec, cpu, sizeof(cpu)), 7);
	cell(f, fmt_throttled(u, thr, sizeof(thr)), 6);
	cell(f, mem, 16);
	fprintf(f, "%s\n", fmt_count(u->oom_kills, oom, sizeof(oom)));
}

void nscg_status_print_table(FILE *f, const struct nscg_status *st)
{
	if (!st->nsess) {
		fprintf(f, "no live pam_nscg sessions\n");
		return;
	}
	fprintf(f, ROW, "USER", "SESSION", "SERVICE", "FROM", "AGE", "TASKS", "CPU", "THROT",
		"MEM NOW/PEAK/MAX", "OOM");
	for (size_t i = 0; i < st->nsess; i++) {
		const struct nscg_status_session *s = &st->sess[i];
		char id[48], from[400], age[24];
		session_id(&s->rec, id, sizeof(id));
		fmt_from(&s->rec, from, sizeof(from));
		uint64_t secs = st->now > s->rec.start ? st->now - s->rec.start : 0;
		cell(f, s->rec.user, 12);
		cell(f, id, 9);
		cell(f, *s->rec.service ? s->rec.service : "-", 7);
		cell(f, from, 14);
		cell(f, s->rec.start ? fmt_secs(secs * 1000000, age, sizeof(age)) : "-", 6);
		usage_cells(f, &s->u);
	}
	fprintf(f, "\n");
	fprintf(f, ROW, "USER", "UID", "SESS", "", "", "TASKS", "CPU", "THROT",
		"MEM NOW/PEAK/MAX", "OOM");
	for (size_t i = 0; i < st->nusers; i++) {
		const struct nscg_status_user *u = &st->users[i];
		char uid[16], n[16];
		snprintf(uid, sizeof(uid), "%u", (unsigned)u->uid);
		snprintf(n, sizeof(n), "%u", u->sessions);
		cell(f, u->user, 12);
		cell(f, uid, 9);
		cell(f, n, 7);
		cell(f, "", 14);
		cell(f, "", 6);
		usage_cells(f, &u->u);
	}
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c); /* records hold printable ASCII */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ,"key":N where known; a limit of none is null. */
static void json_num(FILE *f, const char *key, uint64_t v, bool limit)
{
	if (!known(v))
		return;
	if (limit && v == NSCG_UNLIMITED)
		fprintf(f, ",\"%s\":null", key);
	else
		fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
}

static void json_usage(FILE *f, const struct nscg_usage *u)
{
	fprintf(f, ",\"usage\":{\"version\":1");
	json_num(f, "tasks", u->tasks, false);
	json_num(f, "tasks_max", u->tasks_max, true);
	json_num(f, "cpu_usec", u->cpu_usec, false);
	json_num(f, "nr_throttled", u->nr_throttled, false);
	json_num(f, "throttled_usec", u->throttled_usec, false);
	json_num(f, "memory_current", u->mem_current, false);
	json_num(f, "memory_peak", u->mem_peak, false);
	json_num(f, "memory_max", u->mem_max, true);
	json_num(f, "oom_kills", u->oom_kills, false);
	fprintf(f, "}");
}

void nscg_status_print_json(FILE *f, const struct nscg_status *st)
{
	fprintf(f, "{\"version\":1,\"time\":%llu,\"layout\":\"%s\",\"sessions\":[",
		(unsigned long long)st->now, nscg_layout_name(st->layout));
	for (size_t i = 0; i < st->nsess; i++) {
		const struct nscg_status_session *s = &st->sess[i];
		char id[48];
		session_id(&s->rec, id, sizeof(id));
		fprintf(f, "%s\n{\"id\":", i ? "," : "");
		json_str(f, id);
		fprintf(f, ",\"name\":");
		json_str(f, s->rec.session);
		fprintf(f, ",\"uid\":%u,\"user\":", (unsigned)s->rec.uid);
		json_str(f, s->rec.user);
		fprintf(f, ",\"mode\":\"%s\",\"service\":", nscg_record_mode_name(s->rec.mode));
		json_str(f, s->rec.service);
		fprintf(f, ",\"tty\":");
		json_str(f, s->rec.tty);
		fprintf(f, ",\"rhost\":");
		json_str(f, s->rec.rhost);
		fprintf(f, ",\"start\":%llu,\"leader\":%d,\"orphan\":%s,\"kill_on_close\":%s,\"cgroup\":",
			(unsigned long long)s->rec.start, (int)s->rec.leader,
			s->orphan ? "true" : "false", s->rec.kill ? "true" : "false");
		json_str(f, s->rec.cgroup);
		fprintf(f, ",\"namespaces\":[");
		for (size_t k = 0, n = 0; k < NSCG_NS_COUNT; k++)
			if (s->rec.ns & nscg_ns_kinds[k].bit)
				fprintf(f, "%s\"%s\"", n++ ? "," : "", nscg_ns_kinds[k].name);
		fprintf(f, "]");
		json_usage(f, &s->u);
		fprintf(f, "}");
	}
	fprintf(f, "],\"users\":[");
	for (size_t i = 0; i < st->nusers; i++) {
		const struct nscg_status_user *u = &st->users[i];
		fprintf(f, "%s\n{\"uid\":%u,\"user\":", i ? "," : "", (unsigned)u->uid);
		json_str(f, u->user);
		fprintf(f, ",\"cgroup\":");
		json_str(f, u->cgroup);
		fprintf(f, ",\"sessions\":%u", u->sessions);
		json_usage(f, &u->u);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
}

/* ---- metrics ---- */

/* A label value: \, " and newline escaped (records hold no newline). */
static void label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

enum level { USER, SESSION };

struct metric {
	const char *name; /* after nscg_user_ / nscg_session_ */
	const char *type;
	const char *help;
	size_t offset; /* in struct nscg_usage */
	double scale; /* to the metric's unit */
};

#define USAGE(field) offsetof(struct nscg_usage, field)

static const struct metric metrics[] = {
	{ "tasks", "gauge", "Tasks (pids.current).", USAGE(tasks), 1 },
	{ "tasks_max", "gauge", "The tasks limit (pids.max), where there is one.", USAGE(tasks_max), 1 },
	{ "cpu_seconds_total", "counter", "CPU time used.", USAGE(cpu_usec), 1e-6 },
	{ "cpu_throttled_periods_total", "counter", "CPU quota periods throttled.",
	  USAGE(nr_throttled), 1 },
	{ "cpu_throttled_seconds_total", "counter", "Time throttled by the CPU quota.",
	  USAGE(throttled_usec), 1e-6 },
	{ "memory_bytes", "gauge", "Memory in use.", USAGE(mem_current), 1 },
	{ "memory_peak_bytes", "gauge", "The most memory in use at once.", USAGE(mem_peak), 1 },
	{ "memory_max_bytes", "gauge", "The memory limit, where there is one.", USAGE(mem_max), 1 },
	{ "oom_kills_total", "counter", "Processes killed by the OOM killer.", USAGE(oom_kills), 1 },
};

static uint64_t usage_field(const struct nscg_usage *u, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const char *)u + offset, sizeof(v));
	return v;
}

static void user_labels(FILE *f, const char *user, uid_t uid)
{
	char n[16];

	snprintf(n, sizeof(n), "%u", (unsigned)uid);
	label(f, "user", user, true);
	label(f, "uid", n, false);
}

static void print_metric(FILE *f, const struct nscg_status *st, const struct metric *m,
			 enum level lv)
{
	const char *prefix = lv == USER ? "nscg_user_" : "nscg_session_";

	fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, m->name, m->help, prefix, m->name,
		m->type);
	size_t n = lv == USER ? st->nusers : st->nsess;
	for (size_t i = 0; i < n; i++) {
		const struct nscg_usage *u = lv == USER ? &st->users[i].u : &st->sess[i].u;
		uint64_t v = usage_field(u, m->offset);
		if (!known(v) || v == NSCG_UNLIMITED)
			continue;
		fprintf(f, "%s%s{", prefix, m->name);
		if (lv == USER) {
			user_labels(f, st->users[i].user, st->users[i].uid);
		} else {
			const struct nscg_record *rec = &st->sess[i].rec;
			char id[48];
			session_id(rec, id, sizeof(id));
			user_labels(f, rec->user, rec->uid);
			label(f, "session", id, false);
			label(f, "service", rec->service, false);
		}
		if (m->scale == 1)
			fprintf(f, "} %llu\n", (unsigned long long)v);
		else
			fprintf(f, "} %.6f\n", (double)v * m->scale);
	}
}

void nscg_status_print_metrics(FILE *f, const struct nscg_status *st)
{
	fprintf(f, "# HELP nscg_sessions Live pam_nscg sessions of the user.\n"
		   "# TYPE nscg_sessions gauge\n");
	for (size_t i = 0; i < st->nusers; i++) {
		fprintf(f, "nscg_sessions{");
		user_labels(f, st->users[i].user, st->users[i].uid);
		fprintf(f, "} %u\n", st->users[i].sessions);
	}
	for (size_t k = 0; k < ELEMENTSOF(metrics); k++)
		print_metric(f, st, &metrics[k], USER);
	fprintf(f, "# HELP nscg_session_start_time_seconds When the session was opened.\n"
		   "# TYPE nscg_session_start_time_seconds gauge\n");
	for (size_t i = 0; i < st->nsess; i++) {
		const struct nscg_record *rec = &st->sess[i].rec;
		char id[48];
		session_id(rec, id, sizeof(id));
		fprintf(f, "nscg_session_start_time_seconds{");
		user_labels(f, rec->user, rec->uid);
		label(f, "session", id, false);
		label(f, "service", rec->service, false);
		fprintf(f, "} %llu\n", (unsigned long long)rec->start);
	}
	for (size_t k = 0; k < ELEMENTSOF(metrics); k++)
		print_metric(f, st, &metrics[k], SESSION);
}
