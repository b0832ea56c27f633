/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the parts of the policy code share: the key table and its value
 * types (policy-values.c), the loaded policy (policy-load.c), which
 * resolution reads (policy-resolve.c) and the dialect check holds to
 * iniparser (policy-ini.c). Not for use outside lib/policy-*.c. */
#ifndef NSCG_POLICY_INTERNAL_H
#define NSCG_POLICY_INTERNAL_H

#include "arena.h"
#include "policy.h"

/* The longest line: iniparser's line buffer is 1024 bytes; stay clear. */
#define POLICY_MAX_LINE 1000

/* ---- keys and values (policy-values.c) ---- */

enum key_type {
	T_ON_ERROR,
	T_MODE,
	T_CGROUP_PATH,
	T_PATH,
	T_WORDS,
	T_BOOL,
	T_SESSIONS,
	T_NAMESPACES,
	T_HOSTNAME,
	T_MEMORY, /* memory.max, memory.high: at least NSCG_MEMORY_FLOOR */
	T_SWAP,
	T_CPU_MAX,
	T_WEIGHT,
	T_PIDS,
	T_CPUSET,
	T_TMPFS_SIZE, /* shm_size, tmp_size: auto or a size */
	T_PRIVATE_TMP,
	T_GROUP, /* a group name or number; empty: none */
	T_CGROUP_COUNT, /* delegate_max_descendants: 1 to NSCG_DELEGATE_MAX */
	T_CGROUP_DEPTH, /* delegate_max_depth: 1 to NSCG_DELEGATE_MAX_DEPTH */
};

struct key_def {
	const char *name;
	enum key_type type;
	bool limit; /* several groups: the most generous value wins */
	const char *def; /* built-in default, parsed like a file value */
};

extern const struct key_def nscg_keys[NSCG_KEY_COUNT];

/* key's index by name: -ENOENT if there is none, -EPERM if it is a
 * [global] key and global is false, or the other way round. */
int nscg_key_find(const char *name, bool global, enum nscg_key *out);

/* What parsing a value needs besides its text. */
struct nscg_value_ctx {
	uint64_t physmem; /* bytes of RAM, for "N%" sizes */
	struct nscg_arena *arena; /* for strings and CPU sets */
};

/* Parse text as the value of key into v (num, str or cpus). 0; -EINVAL
 * with why saying what is wrong; -ENOMEM. */
int nscg_value_parse(enum nscg_key key, const char *text, const struct nscg_value_ctx *ctx,
		     struct nscg_value *v, char *why, size_t whylen);

/* Whether word is one of the words of list (spaces, tabs, commas). */
bool nscg_word_in_list(const char *list, const char *word);

/* ---- the loaded policy (policy-load.c) ---- */

enum section_type { SEC_GLOBAL, SEC_DEFAULT, SEC_GROUP, SEC_USER };

struct entry {
	struct entry *next;
	enum nscg_key key;
	unsigned pos; /* reading order over all files */
	struct nscg_value v;
};

struct section {
	enum section_type type;
	const char *name; /* user or group name, original case */
	const char *header; /* as written between the brackets */
	const char *lower; /* header as iniparser stores it */
	const char *file;
	unsigned line;
	struct entry *entries;
};

struct nscg_policy {
	struct nscg_arena arena;
	struct nscg_load_opts opts;
	struct section **sections;
	size_t nsections, csections;
	bool has[SEC_USER + 1]; /* a section of each type was added */
	struct nscg_diag *diags;
	size_t ndiags, cdiags;
	unsigned errors;
	unsigned pos;
	bool oom;
	struct nscg_value global[NSCG_KEY_FIRST_SCOPED];
	struct nscg_value defaults[NSCG_KEY_COUNT];
};

/* One file free of syntax errors, as the scanner read it: its bytes and
 * its sections in reading order (NULL for a refused header). */
struct nscg_policy_file {
	const char *name;
	const char *buf;
	size_t len;
	struct section *const *sections;
	size_t n;
};

/* Add a diagnostic (an error when error) for file:line. */
void nscg_diag_add(struct nscg_policy *p, bool error, const char *file, unsigned line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
