/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Return codes of the module's entry points through a real pam handle
 * (libpam's pam_start_confdir, no root needed): the paths that end
 * before anything is created. */
#include <dlfcn.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);

static unsigned pass, fail;

static void expect(const char *name, int got, int want)
{
	if (got == want) {
		printf("PASS: pam-retval/%s\n", name);
		pass++;
	} else {
		printf("FAIL: pam-retval/%s: got %d (%s), want %d\n", name, got,
		       pam_strerror(NULL, got), want);
		fail++;
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "build/pam_nscg.so";
	static const struct pam_conv conv = { NULL, NULL };
	char dir[] = "/tmp/nscg-pamconf-XXXXXX";
	pam_handle_t *pamh = NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h || !mkdtemp(dir)) {
		printf("FAIL: pam-retval/setup: %s\n", h ? "mkdtemp" : dlerror());
		return 1;
	}
	char svc[64];
	snprintf(svc, sizeof(svc), "%s/nscg-retval", dir);
	FILE *f = fopen(svc, "we");
	if (!f || fputs("session required pam_permit.so\n", f) < 0 || fclose(f)) {
		printf("FAIL: pam-retval/setup: %s\n", svc);
		return 1;
	}
	sm_fn open_s = (sm_fn)dlsym(h, "pam_sm_open_session");
	sm_fn close_s = (sm_fn)dlsym(h, "pam_sm_close_session");
	if (!open_s || !close_s ||
	    pam_start_confdir("nscg-retval", "nobody", &conv, dir, &pamh) !=
		    PAM_SUCCESS) {
		printf("FAIL: pam-retval/setup: pam_start_confdir\n");
		return 1;
	}
	const char *none[] = { NULL };
	const char *missing[] = { "debug", "conf=/nonexistent/nscg.conf" };
	const char *bogus[] = { "no-such-argument", "conf=relative",
				"conf=/nonexistent/nscg.conf" };

	/* A policy that cannot be read is an error; on_error defaults to
	 * deny, so the session is refused. */
	expect("open_missing_policy_denies", open_s(pamh, 0, 2, missing), PAM_SESSION_ERR);
	/* Unknown arguments are logged and change nothing. */
	expect("open_unknown_args", open_s(pamh, PAM_SILENT, 3, bogus), PAM_SESSION_ERR);
	/* Nothing was opened: close has nothing to do. */
	expect("close_without_open", close_s(pamh, 0, 0, none), PAM_IGNORE);
	pam_end(pamh, PAM_SUCCESS);
	/* No user name at all. */
	pamh = NULL;
	if (pam_start_confdir("nscg-retval", NULL, &conv, dir, &pamh) == PAM_SUCCESS)
		expect("open_without_user", open_s(pamh, 0, 2, missing), PAM_SESSION_ERR);
	pam_end(pamh, PAM_SUCCESS);
	dlclose(h);
	unlink(svc);
	rmdir(dir);
	printf("pam-retval: %u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
