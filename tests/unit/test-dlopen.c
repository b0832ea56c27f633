/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The module loads with every symbol resolved (RTLD_NOW) and exports the
 * session entry points and nothing else of its own. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "build/pam_nscg.so";
	static const char *const want[] = { "pam_sm_open_session",
					    "pam_sm_close_session" };
	static const char *const hidden[] = { "nscg_policy_load",
					      "nscg_session_open",
					      "nscg_parse_bytes" };
	unsigned pass = 0, fail = 0;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		printf("FAIL: dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int ok = dlsym(h, want[i]) != NULL;
		printf("%s: dlopen/exports %s\n", ok ? "PASS" : "FAIL", want[i]);
		ok ? pass++ : fail++;
	}
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		int ok = dlsym(h, hidden[i]) == NULL;
		printf("%s: dlopen/hides %s\n", ok ? "PASS" : "FAIL", hidden[i]);
		ok ? pass++ : fail++;
	}
	dlclose(h);
	printf("dlopen: %u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
