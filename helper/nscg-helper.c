/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nscg-helper: creates the session's namespaces for pam_nscg. This is the
 * command-line skeleton; the namespace work arrives with the session
 * sandbox. It is not setuid and refuses to do anything it cannot do. */
#include <stdio.h>
#include <string.h>

#ifndef NSCG_VERSION
#define NSCG_VERSION "0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nscg-helper --help | --version\n"
		"\n"
		"Creates the cgroup, mount, IPC and UTS namespaces of a pam_nscg\n"
		"session. It is started by pam_nscg.so, not by hand.\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("nscg-helper %s\n", NSCG_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}
