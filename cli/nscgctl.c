/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscgctl: check and explain the pam_nscg policy; show, steer and end
 * live sessions; sweep what sessions left behind. Exit codes below. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "ns.h"
#include "policy.h"
#include "policy-ini.h"
#include "record.h"
#include "status.h"
#include "steer.h"
#include "sweep.h"
#include "util.h"
#include "watch.h"

#ifndef NSCG_VERSION
#define NSCG_VERSION "0"
#endif


enum {
	EXIT_CLEAN = 0,
	EXIT_POLICY = 1, /* check, explain, apply: the policy has errors */
	EXIT_STUCK = 1, /* gc, terminate: a session could not be finished */
	EXIT_HELD = 1, /* apply: a memory limit was held back (no --force) */
	EXIT_USAGE = 2, /* usage, permission or lookup error */
	EXIT_NOTFOUND = 3, /* status --session, terminate: no such live session */
};

static const struct nscg_log err_log = {
	.emit = nscg_log_stderr, .ctx = "nscgctl", .max_prio = LOG_DEBUG,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nscgctl check [--conf FILE]\n"
		"       nscgctl explain USER [--conf FILE] [--service NAME]\n"
		"       nscgctl status [USER | --session ID] [--json]\n"
		"       nscgctl metrics [--output FILE]\n"
		"       nscgctl apply [USER] [--dry-run] [--force] [--conf FILE]\n"
		"       nscgctl terminate ID | --user USER\n"
		"       nscgctl gc [--dry-run] [--quiet] [--conf FILE]\n"
		"       nscgctl --help | --version\n"
		"\n"
		"  check     read the policy and its drop-ins; print every error and\n"
		"            warning as FILE:LINE: message; exit 1 on errors\n"
		"  explain   print the policy that applies to USER: each key, its value\n"
		"            and the FILE:LINE [section] it comes from\n"
		"  status    the live sessions (of USER, or the one session ID) with their\n"
		"            usage and limits, then each user's totals; as a user, your\n"
		"            own, from inside your sessions too\n"
		"  metrics   the same as Prometheus text, for node_exporter's textfile\n"
		"            collector; --output writes FILE atomically; as root\n"
		"  apply     resolve the policy again and set the changed limits on the\n"
		"            live sessions and users (of USER); print each change; as root\n"
		"  terminate end the session ID (or every session of USER) as logout\n"
		"            would: kill its processes, remove its cgroups; as root\n"
		"  gc        finish every standalone session nobody will close (its opener\n"
		"            died, or its close could not finish): kill what is left in\n"
		"            it, remove its cgroups; print each; as root\n"
		"\n"
		"  --conf FILE      the main policy (default %s); drop-ins\n"
		"                   are read from FILE with .conf replaced by .d/\n"
		"  --service NAME   the PAM service of the login (for skip_services)\n"
		"  --dry-run        gc, apply: print what would be done, do nothing\n"
		"  --quiet          gc: print only what went wrong\n"
		"  --json           status: JSON (nscgctl(8) documents the schema)\n"
		"  --force          apply: lower memory.max below what is in use too\n",
		NSCG_CONF_PATH);
}

static void print_diags(const struct nscg_policy *p)
{
	for (size_t i = 0; i < nscg_policy_diag_count(p); i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		const char *sev = d->error ? "error" : "warning";
		if (d->line)
			fprintf(stderr, "%s:%u: %s: %s\n", d->file, d->line, sev,
				d->msg);
		else
			fprintf(stderr, "%s: %s: %s\n", d->file ? d->file : "nscgctl",
				sev, d->msg);
	}
}

static int load(const char *conf, bool lint, struct nscg_policy **p)
{
	struct nscg_load_opts opts = { .trusted_uid = 0, .lint = lint,
				       .dialect_check = nscg_policy_check_dialect };
	int r = nscg_policy_load(conf, &opts, p);

	if (r < 0)
		nscg_log_errno(&err_log, LOG_ERR, r, "cannot load the policy");
	return r;
}

static int cmd_check(const char *conf)
{
	struct nscg_policy *p;
	unsigned errors;

	if (load(conf, true, &p) < 0)
		return EXIT_USAGE;
	print_diags(p);
	errors = nscg_policy_errors(p);
	if (errors)
		fprintf(stderr, "nscgctl: %u error%s in the policy\n", errors,
			errors == 1 ? "" : "s");
	nscg_policy_free(p);
	return errors ? EXIT_POLICY : EXIT_CLEAN;
}

static void print_value(enum nscg_key k, const struct nscg_value *v)
{
	char val[4200], origin[4400];

	nscg_value_format(k, v, val, sizeof(val));
	if (!v->set)
		snprintf(origin, sizeof(origin), "-");
	else if (!v->origin.file)
		snprintf(origin, sizeof(origin), "built-in default");
	else if (v->origin.merged)
		snprintf(origin, sizeof(origin),
			 "%s:%u [%s], united with %u more group section%s",
			 v->origin.file, v->origin.line, v->origin.section,
			 v->origin.merged, v->origin.merged == 1 ? "" : "s");
	else
		snprintf(origin, sizeof(origin), "%s:%u [%s]", v->origin.file,
			 v->origin.line, v->origin.section);
	printf("%-24s %-20s %s\n", nscg_key_name(k), val, origin);
}

/* What binds what in systemd mode: the user manager is outside the
 * session (pam_nscg(8), "systemd mode"). */
static void print_systemd_note(const struct nscg_resolved *res)
{
	bool limited = res->v[NSCG_KEY_LIMIT_USER_MANAGER].num != 0;

	printf("\nin systemd mode (a logind session):\n"
	       "  the login's processes    session.* limits on its session-N.scope, the namespaces,\n"
	       "                           kill_on_close; user.* limits on user-UID.slice\n"
	       "  the user's systemd       systemd-run --user, D-Bus activation: user@UID.service,\n"
	       "  manager's processes      outside the scope, its namespaces and kill_on_close;\n"
	       "                           user.* limits on the slice%s\n",
	       limited ? ", and session.* limits on\n"
			 "                           user@UID.service (limit_user_manager = yes)" :
			 " only (limit_user_manager = no)");
}

static int cmd_explain(const char *conf, const char *user, const char *service)
{
	struct nscg_resolved res;
	struct nscg_policy *p = NULL;
	struct passwd pw;
	char **groups = NULL, esc[96];
	size_t ngroups = 0;
	_cleanup_free_ char *buf = NULL;
	int r, ret = EXIT_USAGE;

	if (!nscg_name_is_valid(user)) {
		fprintf(stderr, "nscgctl: '%s' is not a valid user name\n",
			nscg_escape(user, esc, sizeof(esc)));
		return EXIT_USAGE;
	}
	r = nscg_getpwnam(user, &pw, &buf);
	if (r < 0) {
		fprintf(stderr, "nscgctl: %s '%s'%s%s\n",
			r == -ENOENT ? "unknown user" : "cannot look up the user",
			nscg_escape(user, esc, sizeof(esc)), r != -ENOENT ? ": " : "",
			r != -ENOENT ? strerror(-r) : "");
		return EXIT_USAGE;
	}
	r = nscg_user_groups(pw.pw_name, pw.pw_gid, &groups, &ngroups);
	if (r < 0) {
		nscg_log_errno(&err_log, LOG_ERR, r,
			       "cannot look up the groups of '%s'", user);
		return EXIT_USAGE;
	}
	if (load(conf, false, &p) < 0)
		goto out;
	/* A policy with errors is not applied; whom it exempts stays exempt. */
	bool broken = nscg_policy_errors(p) != 0;
	if (broken)
		print_diags(p);
	struct nscg_request req = {
		.user = pw.pw_name,
		.groups = (const char *const *)groups,
		.ngroups = ngroups,
		.service = service,
	};
	r = nscg_policy_resolve(p, &req, &res);
	if (r < 0) {
		nscg_log_errno(&err_log, LOG_ERR, r, "cannot resolve the policy");
		goto out;
	}
	printf("user      %s (uid %u)\n", pw.pw_name, (unsigned)pw.pw_uid);
	printf("groups   ");
	for (size_t i = 0; i < ngroups; i++)
		printf(" %s", groups[i]);
	printf("\nservice   %s\n",
	       service ? service : "(not given: skip_services not applied)");
	if (res.exempt)
		printf("status    exempt: %s%s\n\n", res.exempt_why,
		       broken ? " (this holds although the policy has errors)" : "");
	else if (broken)
		printf("status    on_error = %s: the policy has errors, so pam_nscg applies none of it\n",
		       nscg_policy_global(p, NSCG_KEY_ON_ERROR)->num == NSCG_ON_ERROR_ALLOW ?
			       "allow (let in unconfined)" :
			       "deny (refused)");
	else
		printf("status    sandboxed\n\n");
	if (!broken)
		for (int k = 0; k < NSCG_KEY_COUNT; k++)
			print_value((enum nscg_key)k, &res.v[k]);
	if (!broken && !res.exempt &&
	    nscg_policy_global(p, NSCG_KEY_MODE)->num != NSCG_MODE_STANDALONE)
		print_systemd_note(&res);
	ret = broken ? EXIT_POLICY : EXIT_CLEAN;
out:
	nscg_policy_free(p);
	nscg_strv_free(groups);
	return ret;
}

/* Inside a sandbox (root's cron job, root not exempt) the host's cgroups
 * are out of sight: say so rather than find nothing. */
static bool in_host_view(const char *verb)
{
	struct stat ns;

	if (stat("/proc/self/ns/cgroup", &ns) == 0 && ns.st_ino != NSCG_CGROUP_INIT_INO) {
		fprintf(stderr, "nscgctl: %s runs in a cgroup namespace of its own, not the host's: run it outside any pam_nscg session (exempt root, or from a system service)\n",
			verb);
		return false;
	}
	return true;
}

/* USER's uid into f (a name, or a number for a uid without one). */
static int filter_user(const char *user, struct nscg_status_filter *f)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw;
	char esc[96];
	uint64_t uid;

	if (nscg_parse_u64(user, &uid) == 0 && uid < UINT32_MAX) {
		f->by_uid = true;
		f->uid = (uid_t)uid;
		return 0;
	}
	int r = nscg_name_is_valid(user) ? nscg_getpwnam(user, &pw, &buf) : -EINVAL;
	if (r < 0) {
		fprintf(stderr, "nscgctl: %s '%s'\n",
			r == -ENOENT || r == -EINVAL ? "unknown user" : "cannot look up the user",
			nscg_escape(user, esc, sizeof(esc)));
		return r;
	}
	f->by_uid = true;
	f->uid = pw.pw_uid;
	return 0;
}

/* What status, metrics, terminate and apply act on, as root in the host's
 * view: the host's cgroups in *host (close it) and the live sessions of
 * USER (NULL: all), or the one session, in *st (free it). EXIT_CLEAN or
 * EXIT_USAGE, said why. */
static int root_status(const char *verb, const char *user, const char *session,
		       struct nscg_host *host, struct nscg_status *st)
{
	struct nscg_status_filter f = { .session = session };
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "nscgctl: %s needs root\n", verb);
		return EXIT_USAGE;
	}
	if (!in_host_view(verb) || (user && filter_user(user, &f) < 0) ||
	    nscg_host_detect(NULL, host, &err_log) < 0)
		return EXIT_USAGE;
	if ((r = nscg_status_read(host, &f, st)) < 0) {
		nscg_log_errno(&err_log, LOG_ERR, r, "cannot read the sessions in %s/sessions",
			       NSCG_RUN_DIR);
		nscg_host_close(host);
		return EXIT_USAGE;
	}
	return EXIT_CLEAN;
}

/* An ordinary user's own sessions, from inside one of them too: the
 * records and the host's cgroups are out of the user's sight, so a
 * watcher of one of the user's sessions (watch.h) answers. */
static int user_status(const char *user, const char *session, bool json)
{
	struct nscg_status_filter f = { 0 };

	if (user && (filter_user(user, &f) < 0 || f.uid != getuid())) {
		fprintf(stderr, "nscgctl: status of another user needs root\n");
		return EXIT_USAGE;
	}
	int r = nscg_watch_ask(getuid(), json, session, stdout);
	if (r == -ENOENT) {
		fprintf(stderr, "nscgctl: no live pam_nscg session of yours answers (a session without namespaces has no watcher to ask)\n");
		return EXIT_NOTFOUND;
	}
	if (r < 0) {
		fprintf(stderr, "nscgctl: cannot read the status: %s\n", strerror(-r));
		return EXIT_USAGE;
	}
	if (r == EXIT_NOTFOUND)
		fprintf(stderr, "nscgctl: no live session %s of yours\n", session);
	else if (r != EXIT_CLEAN)
		fprintf(stderr, "nscgctl: the session's watcher could not read the status\n");
	return fflush(stdout) == 0 ? r : EXIT_USAGE;
}

static int cmd_status(const char *user, const char *session, bool json)
{
	struct nscg_status st;
	struct nscg_host host;

	if (geteuid() != 0)
		return user_status(user, session, json);
	if (root_status("status", user, session, &host, &st) != EXIT_CLEAN)
		return EXIT_USAGE;
	nscg_host_close(&host);
	if (json)
		nscg_status_print_json(stdout, &st);
	else
		nscg_status_print_table(stdout, &st);
	bool none = session && st.nsess == 0;
	nscg_status_free(&st);
	if (none) {
		fprintf(stderr, "nscgctl: no live session %s\n", session);
		return EXIT_NOTFOUND;
	}
	return fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_USAGE;
}

/* The metrics on stdout, or into output through a temporary file in its
 * directory renamed over it, so that a collector never reads half. */
static int cmd_metrics(const char *output)
{
	struct nscg_status st;
	struct nscg_host host;
	char tmp[4096];
	FILE *out = stdout;
	int fd = -1;

	if (root_status("metrics", NULL, NULL, &host, &st) != EXIT_CLEAN)
		return EXIT_USAGE;
	nscg_host_close(&host);
	if (output) {
		int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", output);
		if (n < 0 || (size_t)n >= sizeof(tmp) || (fd = mkostemp(tmp, O_CLOEXEC)) < 0 ||
		    fchmod(fd, 0644) < 0 || !(out = fdopen(fd, "w"))) {
			fprintf(stderr, "nscgctl: cannot write %s: %s\n", output, strerror(errno));
			if (fd >= 0) {
				unlink(tmp);
				close(fd);
			}
			nscg_status_free(&st);
			return EXIT_USAGE;
		}
	}
	nscg_status_print_metrics(out, &st);
	nscg_status_free(&st);
	if (!output)
		return fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_USAGE;
	bool ok = fflush(out) == 0 && fsync(fd) == 0;
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, output) < 0) {
		fprintf(stderr, "nscgctl: cannot write %s: %s\n", output, strerror(errno));
		unlink(tmp);
		return EXIT_USAGE;
	}
	return EXIT_CLEAN;
}

static void emit_stdout(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	if (prio <= LOG_WARNING)
		fprintf(stderr, "nscgctl: %s\n", msg);
	else
		printf("%s\n", msg);
}

/* The sweep of every user (sweep.h), now, waiting for each uid's lock a
 * while, and with the time close itself gives the killed to leave. */
static int cmd_gc(const char *conf, bool dry_run, bool quiet)
{
	const struct nscg_log log = {
		.emit = emit_stdout, .max_prio = quiet ? LOG_WARNING : LOG_INFO,
	};
	struct nscg_sweep_stats st = { 0 };
	const struct nscg_sweep_opts o = {
		.dry_run = dry_run, .kill_timeout_ms = 10000, .lock_timeout_ms = 5000,
		.stats = &st,
	};
	struct nscg_policy *p;
	struct nscg_host host;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "nscgctl: gc needs root\n");
		return EXIT_USAGE;
	}
	if (!in_host_view("gc"))
		return EXIT_USAGE;
	/* The parent comes from the policy; a broken line is skipped. */
	if (load(conf, false, &p) < 0)
		return EXIT_USAGE;
	if (nscg_host_detect(NULL, &host, &err_log) < 0) {
		nscg_policy_free(p);
		return EXIT_USAGE;
	}
	r = nscg_sweep_all(&host, nscg_policy_global(p, NSCG_KEY_CGROUP_PARENT)->str, &o, &log);
	nscg_host_close(&host);
	nscg_policy_free(p);
	if (r < 0) {
		nscg_log_errno(&err_log, LOG_ERR, r, "cannot sweep");
		return EXIT_USAGE;
	}
	if (!quiet || st.stuck)
		printf("%u session%s %s, %u could not be finished, %u user%s busy\n", st.removed,
		       st.removed == 1 ? "" : "s", dry_run ? "to remove" : "removed", st.stuck,
		       st.busy, st.busy == 1 ? "" : "s");
	return st.stuck ? EXIT_STUCK : EXIT_CLEAN;
}

static int cmd_terminate(const char *user, const char *session)
{
	struct nscg_status st;
	struct nscg_host host;
	int r = root_status("terminate", user, session, &host, &st);

	if (r != EXIT_CLEAN)
		return r;
	if (!st.nsess) {
		fprintf(stderr, "nscgctl: no live session %s%s\n", session ? session : "of ",
			session ? "" : user);
		nscg_host_close(&host);
		nscg_status_free(&st);
		return EXIT_NOTFOUND;
	}
	r = nscg_terminate(&host, &st, &err_log);
	nscg_host_close(&host);
	nscg_status_free(&st);
	return r < 0 ? EXIT_STUCK : EXIT_CLEAN;
}

static int cmd_apply(const char *conf, const char *user, const struct nscg_apply_opts *o)
{
	struct nscg_policy *p = NULL;
	struct nscg_status st;
	struct nscg_host host;
	int r = root_status("apply", user, NULL, &host, &st);

	if (r != EXIT_CLEAN)
		return r;
	if (load(conf, false, &p) < 0) {
		r = EXIT_USAGE;
	} else if (nscg_policy_errors(p)) {
		print_diags(p);
		fprintf(stderr, "nscgctl: the policy has errors: nothing applied\n");
		r = EXIT_POLICY;
	} else {
		r = nscg_apply(&host, p, &st, o, &err_log);
		r = r < 0 ? EXIT_USAGE : r > 0 ? EXIT_HELD : EXIT_CLEAN;
	}
	nscg_host_close(&host);
	nscg_policy_free(p);
	nscg_status_free(&st);
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 0x100, OPT_SESSION, OPT_OUTPUT, OPT_FORCE, OPT_USER };
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "user", required_argument, NULL, OPT_USER },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *conf = NSCG_CONF_PATH, *service = NULL, *session = NULL, *output = NULL,
		   *user = NULL;
	bool dry_run = false, quiet = false, json = false, force = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:s:nqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'c':
			conf = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_SESSION:
			session = optarg;
			break;
		case OPT_OUTPUT:
			output = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_USER:
			user = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_CLEAN;
		case 'V':
			printf("nscgctl %s\n", NSCG_VERSION);
			return EXIT_CLEAN;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	const char *verb = argc ? argv[0] : NULL;
	/* Each verb takes its own options and no other. */
	unsigned given = (service ? 1u : 0) | (dry_run ? 2u : 0) | (quiet ? 4u : 0) |
			 (json ? 8u : 0) | (session ? 16u : 0) | (output ? 32u : 0) |
			 (force ? 64u : 0) | (user ? 128u : 0);
	bool ok = verb != NULL;
	if (!verb)
		;
	else if (!strcmp(verb, "check"))
		ok = argc == 1 && !given;
	else if (!strcmp(verb, "explain"))
		ok = argc == 2 && !(given & ~1u);
	else if (!strcmp(verb, "gc"))
		ok = argc == 1 && !(given & ~6u);
	else if (!strcmp(verb, "status"))
		ok = argc <= 2 && !(given & ~24u) && !(argc == 2 && session);
	else if (!strcmp(verb, "metrics"))
		ok = argc == 1 && !(given & ~32u);
	else if (!strcmp(verb, "terminate"))
		ok = !(given & ~128u) && ((argc == 2) != (user != NULL));
	else if (!strcmp(verb, "apply"))
		ok = argc <= 2 && !(given & ~66u);
	else
		ok = false;
	if (!ok) {
		if (!verb)
			fprintf(stderr, "nscgctl: missing command\n");
		else
			fprintf(stderr, "nscgctl: bad command line for '%s'\n", verb);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *arg = argc == 2 ? argv[1] : NULL;
	if (!strcmp(verb, "check"))
		return cmd_check(conf);
	if (!strcmp(verb, "explain"))
		return cmd_explain(conf, arg, service);
	if (!strcmp(verb, "gc"))
		return cmd_gc(conf, dry_run, quiet);
	if (!strcmp(verb, "status"))
		return cmd_status(arg, session, json);
	if (!strcmp(verb, "metrics"))
		return cmd_metrics(output);
	if (!strcmp(verb, "terminate"))
		return cmd_terminate(user, arg);
	const struct nscg_apply_opts ao = { .dry_run = dry_run, .force = force };
	return cmd_apply(conf, arg, &ao);
}
