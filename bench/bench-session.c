/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open+close latency of a session through the real libpam stack, in one
 * process (no spawn in the measured part but the module's own helper),
 * beside a stack of pam_permit only, in the same run.
 *   bench-session BASELINE_SERVICE NSCG_SERVICE USER [N] */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int run(const char *service, const char *user, int n, double *med,
	       double *p99)
{
	static const struct pam_conv conv = { NULL, NULL };
	double *t = malloc(sizeof(*t) * (size_t)n);

	if (!t)
		return -1;
	for (int i = -10; i < n; i++) { /* 10 warm-up rounds */
		pam_handle_t *h = NULL;
		if (pam_start(service, user, &conv, &h) != PAM_SUCCESS)
			return -1;
		double a = now_us();
		int r = pam_open_session(h, 0);
		if (r == PAM_SUCCESS)
			r = pam_close_session(h, 0);
		double b = now_us();
		pam_end(h, r);
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "%s: %s\n", service, pam_strerror(NULL, r));
			free(t);
			return -1;
		}
		if (i >= 0)
			t[i] = b - a;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	*med = t[n / 2];
	*p99 = t[n * 99 / 100];
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	double bm, bp, nm, np;
	int n = argc > 4 ? atoi(argv[4]) : 1000;

	if (argc < 4 || n < 1)
		return 2;
	if (run(argv[1], argv[3], n, &bm, &bp) < 0 ||
	    run(argv[2], argv[3], n, &nm, &np) < 0)
		return 1;
	printf("%-36s %10s %10s %8s\n", "open+close, one process", "median ms",
	       "p99 ms", "sessions");
	printf("%-36s %10.3f %10.3f %8d\n", "baseline: pam_permit only", bm / 1e3, bp / 1e3, n);
	printf("%-36s %10.3f %10.3f %8d\n", "pam_nscg + pam_permit", nm / 1e3, np / 1e3, n);
	printf("ratio of medians: %.1fx; added per login: %.3f ms\n", nm / bm,
	       (nm - bm) / 1e3);
	return 0;
}
