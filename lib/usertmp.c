/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "usertmp.h"

#include "record.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TMP_DIR NSCG_RUN_DIR "/tmp"

/* The mount a path is on, for telling a mount point from a directory
 * (a tmpfs on /run shares /run's device number, so st_dev cannot). */
static int mount_id(int dirfd, const char *path, uint64_t *id)
{
	struct statx stx;

	if (statx(dirfd, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*id = stx.stx_mnt_id;
	return 0;
}

/* Whether name under dirfd is a mount point of its own. */
static bool mounted_at(int dirfd, const char *name)
{
	uint64_t here = 0, below = 0;

	return mount_id(dirfd, ".", &here) == 0 && mount_id(dirfd, name, &below) == 0 &&
	       here != below;
}

static int tmp_dir(bool create, const struct nscg_log *log)
{
	_cleanup_close_ int run = nscg_run_dir(log);

	if (run < 0)
		return run;
	if (create && mkdirat(run, "tmp", 0700) < 0 && errno != EEXIST)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot create %s", TMP_DIR);
	int fd = openat(run, "tmp", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int nscg_user_tmp_open(uid_t uid, uint64_t size, const struct nscg_log *log)
{
	_cleanup_close_ int dfd = tmp_dir(true, log);
	char name[32], path[96], opts[64];
	int fd;

	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "uid-%u", (unsigned)uid);
	snprintf(path, sizeof(path), "%s/%s", TMP_DIR, name);
	if (!mounted_at(dfd, name)) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
			return nscg_log_errno(log, LOG_ERR, -errno, "cannot create %s", path);
		if (size)
			snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)size);
		else
			snprintf(opts, sizeof(opts), "mode=1777");
		/* The path is root's all the way (NSCG_RUN_DIR is checked). */
		if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
			return nscg_log_errno(log, LOG_ERR, -errno, "cannot mount the tmpfs %s", path);
	}
	fd = (int)syscall(SYS_open_tree, dfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return nscg_log_errno(log, LOG_ERR, -errno, "cannot clone %s", path);
	return fd;
}

int nscg_user_tmp_attach(int tree_fd, const struct nscg_log *log)
{
	int r = 0;

	if (syscall(SYS_move_mount, tree_fd, "", AT_FDCWD, "/tmp", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		r = nscg_log_errno(log, LOG_ERR, -errno, "cannot mount the user's tmpfs on /tmp");
	nscg_close(tree_fd);
	return r;
}

void nscg_user_tmp_remove(uid_t uid)
{
	_cleanup_close_ int dfd = tmp_dir(false, NULL);
	char name[32], path[96];

	if (dfd < 0)
		return;
	snprintf(name, sizeof(name), "uid-%u", (unsigned)uid);
	snprintf(path, sizeof(path), "%s/%s", TMP_DIR, name);
	if (mounted_at(dfd, name))
		(void)umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

int nscg_user_tmp_each(int (*fn)(uid_t uid, void *ctx), void *ctx)
{
	_cleanup_close_ int dfd = tmp_dir(false, NULL);
	_cleanup_closedir_ DIR *d = NULL;
	int r = 0;

	if (dfd < 0)
		return 0;
	if (!(d = nscg_opendir_at(dfd)))
		return -errno;
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		uint64_t uid;
		if (strncmp(de->d_name, "uid-", 4) || nscg_parse_u64(de->d_name + 4, &uid) < 0 ||
		    uid >= UINT32_MAX)
			continue;
		r = fn((uid_t)uid, ctx);
	}
	return r < 0 ? r : 0;
}
