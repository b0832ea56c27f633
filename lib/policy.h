/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy: /etc/security/nscg.conf plus the drop-ins in nscg.d/, in
 * iniparser's dialect, checked, and resolved for one login.
 *
 * Loading never stops at the first problem: every error and warning is
 * kept as a diagnostic naming the file and line. A policy with errors must
 * not be applied; the caller decides what a login gets (on_error). Of a
 * file with errors only on_error, skip_services and enabled are kept, so
 * resolving a broken policy still tells whom it exempts. */
#ifndef NSCG_POLICY_H
#define NSCG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "ns.h"

#ifndef NSCG_HELPER_PATH
#define NSCG_HELPER_PATH "/usr/libexec/nscg/nscg-helper"
#endif
#ifndef NSCG_CONF_PATH
#define NSCG_CONF_PATH "/etc/security/nscg.conf"
#endif

/* Every key the policy knows. [global] keys first, then the keys of
 * [default], [group:NAME] and [user:NAME]; the limit keys come in two runs
 * of NSCG_LIMIT_COUNT, "user." (the user cgroup) then "session.". */
enum nscg_key {
	NSCG_KEY_ON_ERROR,
	NSCG_KEY_MODE,
	NSCG_KEY_CGROUP_PARENT,
	NSCG_KEY_HELPER,
	NSCG_KEY_SKIP_SERVICES,
	NSCG_KEY_ENABLED,
	NSCG_KEY_MAX_SESSIONS,
	NSCG_KEY_NAMESPACES,
	NSCG_KEY_HOSTNAME,
	NSCG_KEY_KILL_ON_CLOSE,
	NSCG_KEY_PRIVATE_SHM,
	NSCG_KEY_SHM_SIZE,
	NSCG_KEY_PRIVATE_TMP,
	NSCG_KEY_TMP_SIZE,
	NSCG_KEY_LIMIT_USER_MANAGER,
	NSCG_KEY_OOM_NOTICE,
	NSCG_KEY_HIDE_PROCESSES,
	NSCG_KEY_HIDE_PROCESSES_GROUP,
	NSCG_KEY_DELEGATE,
	NSCG_KEY_DELEGATE_MAX_DESCENDANTS,
	NSCG_KEY_DELEGATE_MAX_DEPTH,
	NSCG_KEY_EXPORT_CPUS,
	NSCG_KEY_LIMITS, /* first limit key */
	NSCG_KEY_COUNT = NSCG_KEY_LIMITS + 2 * NSCG_LIMIT_COUNT,
};

#define NSCG_KEY_FIRST_SCOPED NSCG_KEY_ENABLED

enum nscg_level {
	NSCG_LEVEL_USER,
	NSCG_LEVEL_SESSION,
};

static inline enum nscg_key nscg_limit_key(enum nscg_level level,
					   enum nscg_limit limit)
{
	return (enum nscg_key)(NSCG_KEY_LIMITS + (int)level * NSCG_LIMIT_COUNT +
			       (int)limit);
}

enum nscg_on_error { NSCG_ON_ERROR_DENY, NSCG_ON_ERROR_ALLOW };
/* The most cgroups, and levels of them, delegate may let a session make. */
#define NSCG_DELEGATE_MAX 1000u
#define NSCG_DELEGATE_MAX_DEPTH 32u

/* private_tmp: the host's /tmp, one tmpfs per user, or per session. */
enum nscg_private_tmp { NSCG_TMP_HOST, NSCG_TMP_USER, NSCG_TMP_SESSION };
/* shm_size and tmp_size: 0 is "auto" (a quarter of the memory limit). */
#define NSCG_TMPFS_AUTO 0
/* The smallest private tmpfs. */
#define NSCG_TMPFS_FLOOR (1ull << 20)
enum nscg_mode { NSCG_MODE_AUTO, NSCG_MODE_STANDALONE, NSCG_MODE_SYSTEMD };

/* Smallest values that still let a login start; below them a value is an
 * error rather than a limit. */
#define NSCG_MEMORY_FLOOR (32ull << 20)
#define NSCG_PIDS_FLOOR 16u
/* The largest size a memory key takes (1 EiB): far above any machine,
 * and low enough that v1's memory+swap sum cannot wrap. */
#define NSCG_MEMORY_CEIL (1ull << 60)

/* Where an effective value came from. file == NULL: the built-in default. */
struct nscg_origin {
	const char *file;
	const char *section; /* as written, e.g. "group:Dev" */
	unsigned line;
	unsigned merged; /* cpuset.cpus: how many more group sections it unites */
};

/* One effective value. num holds bools, enums, byte counts (percentages
 * already converted), CPU percent, weights, counts and the namespace mask
 * (NSCG_NS_* bits); NSCG_UNLIMITED means "max". str holds strings: paths,
 * lists and the hostname template. cpus holds a cpuset.cpus value. text
 * is the value as written in the file. */
struct nscg_value {
	bool set;
	uint64_t num;
	const char *str;
	const struct nscg_cpuset *cpus;
	const char *text;
	struct nscg_origin origin;
};

struct nscg_diag {
	bool error; /* false: warning */
	const char *file; /* NULL: not tied to a file */
	unsigned line; /* 0: the whole file */
	const char *msg;
};

struct nscg_policy;
/* One file as the line scanner read it (policy-internal.h). */
struct nscg_policy_file;

struct nscg_load_opts {
	uint64_t physmem; /* bytes of RAM for "N%" sizes; 0: this host's */
	uid_t trusted_uid; /* owner policy files must have; root in production */
	bool lint; /* also run the checks only nscgctl check needs */
	/* Called for every file free of syntax errors, after it was read:
	 * nscg_policy_check_dialect (policy-ini.h) in the tools; NULL in the
	 * module, which parses each file once. */
	void (*dialect_check)(struct nscg_policy *p, const struct nscg_policy_file *f);
};

/* Load path (NULL: NSCG_CONF_PATH) and the drop-in directory beside it
 * (the path with ".conf" replaced by ".d"). Returns 0 and a policy that
 * may hold errors (see nscg_policy_errors), or -ENOMEM. */
int nscg_policy_load(const char *path, const struct nscg_load_opts *opts,
		     struct nscg_policy **out);

void nscg_policy_free(struct nscg_policy *p);

/* Number of errors (not warnings) found while loading. */
unsigned nscg_policy_errors(const struct nscg_policy *p);

size_t nscg_policy_diag_count(const struct nscg_policy *p);
const struct nscg_diag *nscg_policy_diag(const struct nscg_policy *p,
					 size_t i);

/* The effective [global] value of key (defaults filled in). Valid even
 * when the policy has errors: a broken line is skipped, so on_error keeps
 * the last good value, or deny. */
const struct nscg_value *nscg_policy_global(const struct nscg_policy *p,
					    enum nscg_key key);

/* Whether any [group:NAME] section (any [user:NAME] section) is in the
 * policy: without, a login's groups (its name) change nothing, and need
 * not be looked up. */
bool nscg_policy_has_groups(const struct nscg_policy *p);
bool nscg_policy_has_users(const struct nscg_policy *p);

/* Drop-in directory used for path (malloc'd), or NULL on ENOMEM. */
char *nscg_policy_dropin_dir(const char *path);

struct nscg_request {
	const char *user;
	const char *const *groups; /* NSS group names, primary included */
	size_t ngroups;
	const char *service; /* PAM service, may be NULL */
};

/* The policy resolved for one login; values point into the policy, which
 * must outlive it, and into the struct itself (not to be copied). */
struct nscg_resolved {
	struct nscg_value v[NSCG_KEY_COUNT];
	bool exempt;
	const char *exempt_why; /* static text when exempt */
	struct nscg_cpuset united[2]; /* per level: cpuset.cpus of several groups */
};

/* Resolve the policy for req: user over group over default over built-in,
 * the most generous group value for each limit key. A pure function of
 * the loaded files and req. -EINVAL if req->user is not a valid name,
 * -ENOMEM. */
int nscg_policy_resolve(const struct nscg_policy *p,
			const struct nscg_request *req,
			struct nscg_resolved *out);

/* The limits of one level of r. A session CPU quota above the user's is
 * the user's: the user cgroup bounds it anyway, and cgroup v1 refuses to
 * write more than the parent has. */
void nscg_resolved_limits(const struct nscg_resolved *r, enum nscg_level level,
			  struct nscg_limits *out);

/* The key as written in the policy, e.g. "session.memory.max". */
const char *nscg_key_name(enum nscg_key key);

/* The value in canonical form ("4G", "250%", "max", "cgroup mount"). */
void nscg_value_format(enum nscg_key key, const struct nscg_value *v,
		       char *buf, size_t len);

#endif
