/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* private_tmp = user: one tmpfs per user, shared by all of the user's
 * sessions (so tmux and agent sockets keep working between them) and
 * removed at the user's last logout. It is mounted in the host's mount
 * namespace at NSCG_RUN_DIR/tmp/uid-UID (root's, mode 0700 on the way,
 * a private mount so nothing propagates), and each session gets a clone
 * of it on /tmp. Its pages are charged to the sessions that write them
 * and bounded by its size. The callers hold the uid's lock. */
#ifndef NSCG_USERTMP_H
#define NSCG_USERTMP_H

#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/* Mount uid's tmpfs if it is not (size bytes; 0: the kernel's default),
 * and return a detached clone of it (open_tree(2)) to put on /tmp with
 * nscg_user_tmp_attach, or -errno with a log line. */
int nscg_user_tmp_open(uid_t uid, uint64_t size, const struct nscg_log *log);

/* Put the clone on /tmp in this process's mount namespace; closes it. */
int nscg_user_tmp_attach(int tree_fd, const struct nscg_log *log);

/* Unmount uid's tmpfs (lazily: a session still holding its clone keeps
 * its pages until it ends) and remove its mount point. */
void nscg_user_tmp_remove(uid_t uid);

/* Call fn for each uid that has a tmpfs mounted; 0 or fn's first
 * negative return. */
int nscg_user_tmp_each(int (*fn)(uid_t uid, void *ctx), void *ctx);

#endif
