/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscgctl: check and explain the pam_nscg policy; sweep what sessions
 * left behind.
 * Exit codes: 0 clean, 1 the policy has errors (check, explain) or a
 * session could not be finished (gc), 2 usage or lookup error. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "log.h"
#include "ns.h"
#include "policy.h"
#include "policy-ini.h"
#include "sweep.h"
#include "util.h"

#ifndef NSCG_VERSION
#define NSCG_VERSION "0"
#endif


enum { EXIT_CLEAN = 0, EXIT_POLICY = 1, EXIT_STUCK = 1, EXIT_USAGE = 2 };

static const struct nscg_log err_log = {
	.emit = nscg_log_stderr, .ctx = "nscgctl", .max_prio = LOG_DEBUG,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nscgctl check [--conf FILE]\n"
		"       nscgctl explain USER [--conf FILE] [--service NAME]\n"
		"       nscgctl gc [--dry-run] [--quiet] [--conf FILE]\n"
		"       nscgctl --help | --version\n"
		"\n"
		"  check     read the policy and its drop-ins; print every error and\n"
		"            warning as FILE:LINE: message; exit 1 on errors\n"
		"  explain   print the policy that applies to USER: each key, its value\n"
		"            and the FILE:LINE [section] it comes from\n"
		"  gc        finish every standalone session nobody will close (its opener\n"
		"            died, or its close could not finish): kill what is left in\n"
		"            it, remove its cgroups; print each; as root\n"
		"\n"
		"  --conf FILE      the main policy (default %s); drop-ins\n"
		"                   are read from FILE with .conf replaced by .d/\n"
		"  --service NAME   the PAM service of the login (for skip_services)\n"
		"  --dry-run        gc: print what would be removed, remove nothing\n"
		"  --quiet          gc: print only what went wrong\n",
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
	/* Inside a sandbox (root's cron job, root not exempt) the host's
	 * cgroups are out of sight: say so rather than sweep nothing. */
	struct stat ns;
	if (stat("/proc/self/ns/cgroup", &ns) == 0 && ns.st_ino != NSCG_CGROUP_INIT_INO) {
		fprintf(stderr, "nscgctl: gc runs in a cgroup namespace of its own, not the host's: run it outside any pam_nscg session (exempt root, or from nscg-gc.service)\n");
		return EXIT_USAGE;
	}
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *conf = NSCG_CONF_PATH, *service = NULL;
	bool dry_run = false, quiet = false;
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
	bool gc_opts = dry_run || quiet;
	if (argc == 1 && !strcmp(argv[0], "check") && !service && !gc_opts)
		return cmd_check(conf);
	if (argc == 2 && !strcmp(argv[0], "explain") && !gc_opts)
		return cmd_explain(conf, argv[1], service);
	if (argc == 1 && !strcmp(argv[0], "gc") && !service)
		return cmd_gc(conf, dry_run, quiet);
	if (argc == 0)
		fprintf(stderr, "nscgctl: missing command\n");
	else
		fprintf(stderr, "nscgctl: bad command line for '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
