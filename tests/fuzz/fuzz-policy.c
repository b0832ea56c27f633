/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the policy parser: any bytes as nscg.conf.
 * Beyond crashes and sanitizer reports, it traps when the line scanner
 * and iniparser disagree about a file the scanner accepted, and when a
 * policy without errors fails to resolve. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "policy-ini.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void setup(void)
{
	char dir[] = "/tmp/nscg-fuzz-XXXXXX";

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/nscg.conf", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = { "dev", "build", "Dev", "g" };
	static const char *const users[] = { "alice", "Alice", "u", "ci-bot" };
	struct nscg_load_opts opts = { .physmem = 8ull << 30,
				       .trusted_uid = geteuid(), .lint = true,
				       .dialect_check = nscg_policy_check_dialect };
	struct nscg_policy *p = NULL;
	int fd;

	if (!path[0])
		setup();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || nscg_write_all(fd, data, size) < 0 || fchmod(fd, 0644) < 0)
		abort();
	close(fd);
	if (nscg_policy_load(path, &opts, &p) < 0)
		return 0;
	for (size_t i = 0; i < nscg_policy_diag_count(p); i++) {
		const struct nscg_diag *d = nscg_policy_diag(p, i);
		if (!d->file || !d->msg[0])
			__builtin_trap();
		/* The scanner accepted a line iniparser reads otherwise
		 * (messages that quote the input never start this way). */
		if (!strncmp(d->msg, "iniparser ", 10))
			__builtin_trap();
	}
	if (!nscg_policy_errors(p)) {
		for (size_t u = 0; u < ELEMENTSOF(users); u++) {
			struct nscg_request req = { .user = users[u],
						    .groups = groups,
						    .ngroups = ELEMENTSOF(groups),
						    .service = "sshd" };
			struct nscg_resolved r;
			char buf[4200];
			if (nscg_policy_resolve(p, &req, &r) < 0)
				__builtin_trap();
			for (int k = 0; k < NSCG_KEY_COUNT; k++)
				nscg_value_format((enum nscg_key)k, &r.v[k], buf,
						  sizeof(buf));
		}
	}
	nscg_policy_free(p);
	return 0;
}
