/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Does what login does: pam_start, pam_open_session, fork, drop to the
 * user, exec a command, wait, pam_close_session, pam_end.
 *
 *   session-runner [--keep-root] [--thread] [--nofile=N] [--as-extra=KB] [--time]
 *                  [--tty=TTY] [--rhost=HOST] SERVICE USER CMD...
 *
 * Exit status: the command's (128+N for signal N), or 200 + the PAM error
 * of open_session. --keep-root runs the command as root (for nested
 * logins); --thread starts a thread first (a multithreaded caller);
 * --nofile=N lowers RLIMIT_NOFILE before the open; --as-extra=KB caps
 * the address space KB above its size then and takes what the heap has
 * spare (ENOMEM); --time prints how long pam_start (which loads the
 * modules), pam_open_session, pam_close_session and pam_end took, as
 * start_us=N, open_us=N, close_us=N and end_us=N on stderr; --tty and
 * --rhost set PAM_TTY and PAM_RHOST. The command gets the PAM
 * environment on top of the runner's own, as from login. */
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long us(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000);
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct pam_conv conv = { NULL, NULL };
	bool keep_root = false, timed = false;
	long as_extra = -1;
	const char *tty = NULL, *rhost = NULL;
	struct timespec t0, t1;
	pam_handle_t *pamh = NULL;
	pthread_t th;
	int i = 1, r, st;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--keep-root"))
			keep_root = true;
		else if (!strcmp(argv[i], "--thread"))
			pthread_create(&th, NULL, idle, NULL);
		else if (!strncmp(argv[i], "--as-extra=", 11))
			as_extra = atol(argv[i] + 11);
		else if (!strcmp(argv[i], "--time"))
			timed = true;
		else if (!strncmp(argv[i], "--tty=", 6))
			tty = argv[i] + 6;
		else if (!strncmp(argv[i], "--rhost=", 8))
			rhost = argv[i] + 8;
		else if (!strncmp(argv[i], "--nofile=", 9)) {
			/* Few fds left: the module must fail cleanly (EMFILE). */
			struct rlimit rl = { (rlim_t)atoi(argv[i] + 9), (rlim_t)atoi(argv[i] + 9) };
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: session-runner [--keep-root] [--thread] [--tty=TTY] [--rhost=HOST] SERVICE USER CMD...\n");
		return 2;
	}
	const char *service = argv[i], *user = argv[i + 1];
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = pam_start(service, user, &conv, &pamh);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r != PAM_SUCCESS)
		return 2;
	if ((tty && pam_set_item(pamh, PAM_TTY, tty) != PAM_SUCCESS) ||
	    (rhost && pam_set_item(pamh, PAM_RHOST, rhost) != PAM_SUCCESS))
		return 2;
	if (timed)
		fprintf(stderr, "start_us=%ld\n", us(&t0, &t1));
	if (as_extra >= 0) {
		/* Address space capped a little above what is mapped now:
		 * the module's allocations fail (ENOMEM). */
		FILE *f = fopen("/proc/self/status", "re");
		char line[128];
		long vm = 0;
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "VmSize: %ld kB", &vm) == 1)
				break;
		if (f)
			fclose(f);
		struct rlimit rl = { (rlim_t)vm * 1024, (rlim_t)(vm + as_extra) * 1024 };
		setrlimit(RLIMIT_AS, &rl);
		/* What the heap has spare would serve the module's first
		 * allocations whatever the cap: take it first, in 1 KiB
		 * blocks that stay taken (the process ends soon), then give
		 * the module its KB. */
		while (malloc(1000))
			;
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_AS, &rl);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = pam_open_session(pamh, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timed)
		fprintf(stderr, "open_us=%ld\n", us(&t0, &t1));
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "session-runner: open_session: %s\n", pam_strerror(pamh, r));
		pam_end(pamh, r);
		return 200 + r;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (!keep_root && (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
				   setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0))
			_exit(127);
		/* The PAM environment on top of ours, as login and su pass
		 * it on. */
		char **env = pam_getenvlist(pamh);
		for (size_t e = 0; env && env[e]; e++)
			putenv(env[e]);
		execvp(argv[i + 2], argv + i + 2);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = pam_close_session(pamh, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timed)
		fprintf(stderr, "close_us=%ld\n", us(&t0, &t1));
	if (r != PAM_SUCCESS)
		fprintf(stderr, "session-runner: close_session: %s\n", pam_strerror(pamh, r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pam_end(pamh, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timed)
		fprintf(stderr, "end_us=%ld\n", us(&t0, &t1));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
