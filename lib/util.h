/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the module, the helper and the CLI.
 * Every function returns >= 0 on success or -errno on failure. */
#ifndef NSCG_UTIL_H
#define NSCG_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Longest user or group name accepted anywhere (LOGIN_NAME_MAX - 1). */
#define NSCG_NAME_MAX 255

/* Close fd if it is valid; never retries on EINTR. Returns -1 for assignment. */
int nscg_close(int fd);

static inline void nscg_closep(int *fd)
{
	if (fd && *fd >= 0)
		nscg_close(*fd);
}

static inline void nscg_freep(void *p)
{
	free(*(void **)p);
}

/* Free a NULL-terminated list of strings, and the list. */
void nscg_strv_free(char **v);

static inline void nscg_strv_freep(char ***v)
{
	nscg_strv_free(*v);
}

static inline void nscg_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_close_ __attribute__((cleanup(nscg_closep)))
#define _cleanup_free_ __attribute__((cleanup(nscg_freep)))
#define _cleanup_strv_ __attribute__((cleanup(nscg_strv_freep)))
#define _cleanup_closedir_ __attribute__((cleanup(nscg_closedirp)))

/* Hand ownership of a pointer or fd out of a cleanup-managed variable. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		__typeof__(p) _p = (p);                                        \
		(p) = NULL;                                                    \
		_p;                                                            \
	})
#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int _fd = (fd);                                                \
		(fd) = -1;                                                     \
		_fd;                                                           \
	})

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Read at most max bytes of an already open fd into a NUL-terminated
 * malloc'd buffer. -EFBIG if the file is larger than max. */
int nscg_read_fd(int fd, size_t max, char **out, size_t *len);

/* Write all of buf to fd, retrying short writes and EINTR. */
int nscg_write_all(int fd, const void *buf, size_t len);

/* Parse a decimal unsigned integer with no sign, spaces or trailing junk. */
int nscg_parse_u64(const char *s, uint64_t *out);

/* Parse a size: digits with an optional K/M/G/T suffix (powers of 1024,
 * either case). "max" and "infinity" are not handled here. */
int nscg_parse_bytes(const char *s, uint64_t *out);

/* Format bytes with the largest exact binary suffix ("4G", "1536M", "100"). */
void nscg_format_bytes(uint64_t bytes, char *buf, size_t len);

/* True if name could be a user or group name that is safe to put in a log
 * line or a policy section: 1..NSCG_NAME_MAX bytes, no '/', no ':', no
 * whitespace or control characters, not "." or "..". */
bool nscg_name_is_valid(const char *name);

/* The gid of a group given by name (NSS) or by number. -ENOENT if NSS
 * has no such group, another -errno if the lookup failed. */
int nscg_group_gid(const char *group, gid_t *gid);

/* Whether a kernel release string ("6.1.0-13-amd64", uname(2)) is at
 * least major.minor; false for one that does not start with numbers. */
bool nscg_kernel_at_least(const char *release, unsigned major, unsigned minor);

/* Copy s into buf (of len bytes) with every non-printable byte, backslash
 * and quote escaped C-style, truncated with "..." if it does not fit.
 * For putting untrusted names into log lines. Returns buf. */
const char *nscg_escape(const char *s, char *buf, size_t len);

/* The names of the groups user is in (primary group gid included), from
 * NSS, so LDAP and SSSD groups count: a NULL-terminated list of *n.
 * Groups without a name are skipped. Free with nscg_strv_free. */
int nscg_user_groups(const char *user, gid_t gid, char ***names, size_t *n);


/* Look up name in the passwd database into *pw, whose strings live in
 * *buf (malloc'd; free it after pw). The buffer starts at the size
 * sysconf suggests and grows on ERANGE up to 1 MiB, so an entry with a
 * long GECOS field or home is found, not failed. 0 if found, -ENOENT if
 * there is no such user, else -errno (ENOMEM, an NSS failure). */
struct passwd;
int nscg_getpwnam(const char *name, struct passwd *pw, char **buf);
/* The same by uid: the uid's first entry in the passwd database. */
int nscg_getpwuid(uid_t uid, struct passwd *pw, char **buf);

/* A directory stream of the directory at dirfd (an O_PATH fd too), on
 * an fd of its own: closedir leaves dirfd open. NULL with errno set. */
DIR *nscg_opendir_at(int dirfd);

/* From /proc/PID/stat: the state (field 3), the parent (field 4) and
 * the start time in clock ticks since boot (field 22); NULL for what is
 * not wanted. -errno if pid does not exist (or is not ours to read). */
int nscg_proc_stat(pid_t pid, char *state, pid_t *ppid, uint64_t *start);

/* The text of /proc/PID/cgroup (pid 0: this process), malloc'd. */
int nscg_proc_cgroup_read(pid_t pid, char **out);

/* The next line of such a text at *cursor, split in place into its
 * controller list ("" for the unified hierarchy, "memory", "cpu,cpuacct",
 * "name=systemd") and its path; false at the end. */
bool nscg_proc_cgroup_next(char **cursor, const char **ctrls, const char **path);

/* Milliseconds on the monotonic clock. */
uint64_t nscg_now_ms(void);

/* Sleep ms milliseconds, resuming after signals. */
void nscg_sleep_ms(unsigned ms);

/* Compare two strings ignoring ASCII case. */
bool nscg_streq_icase(const char *a, const char *b);

#endif
