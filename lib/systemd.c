/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "systemd.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "PREFIXmiddleSUFFIX" with a middle of 1 to maxmid characters from
 * set: copies the middle to mid (NUL-terminated). */
static bool split_name(const char *s, size_t len, const char *prefix,
		       const char *suffix, const char *set, size_t maxmid,
		       char *mid)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (len <= pl + sl || len - pl - sl > maxmid || strncmp(s, prefix, pl) ||
	    strncmp(s + len - sl, suffix, sl))
		return false;
	size_t ml = len - pl - sl;
	for (size_t i = 0; i < ml; i++)
		if (!strchr(set, s[pl + i]) || s[pl + i] == '\0')
			return false;
	memcpy(mid, s + pl, ml);
	mid[ml] = '\0';
	return true;
}

static bool parse_scope_path(const char *path, struct nscg_logind_session *out)
{
	static const char digits[] = "0123456789";
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const char *last = strrchr(path, '/'), *prev;
	char uid[16];

	if (!last || last == path)
		return false;
	for (prev = last - 1; prev > path && *prev != '/'; prev--)
		;
	if (*prev != '/')
		return false;
	if (!split_name(last + 1, strlen(last + 1), "session-", ".scope", alnum,
			sizeof(out->id) - 1, out->id) ||
	    !split_name(prev + 1, (size_t)(last - prev - 1), "user-", ".slice", digits, 10, uid))
		return false;
	uint64_t u;
	if (nscg_parse_u64(uid, &u) < 0 || u >= UINT32_MAX)
		return false;
	out->uid = (uid_t)u;
	snprintf(out->scope, sizeof(out->scope), "session-%s.scope", out->id);
	snprintf(out->slice, sizeof(out->slice), "user-%u.slice", (unsigned)out->uid);
	return true;
}

int nscg_logind_parse(const char *proc_cgroup, struct nscg_logind_session *out)
{
	memset(out, 0, sizeof(*out));
	for (const char *line = proc_cgroup; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1024];
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			/* The unified hierarchy ("0::") or systemd's own v1 one. */
			if (c2) {
				*c2 = '\0';
				if ((!strcmp(c1 + 1, "") || !strcmp(c1 + 1, "name=systemd")) &&
				    parse_scope_path(c2 + 1, out))
					return 1;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

static int logind_confirm(struct nscg_logind_session *ls);

int nscg_logind_current(struct nscg_logind_session *out)
{
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	int r;

	if (fd < 0)
		return -errno;
	if ((r = nscg_read_fd(fd, 1 << 16, &buf, NULL)) < 0)
		return r;
	if ((r = nscg_logind_parse(buf, out)) <= 0)
		return r;
	return logind_confirm(out);
}

#ifndef HAVE_SYSTEMD

/* Nothing to ask: the path is all there is (uid from the slice). */
static int logind_confirm(struct nscg_logind_session *ls)
{
	(void)ls;
	return 1;
}

bool nscg_have_systemd(void)
{
	return false;
}

int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n,
		       unsigned timeout_ms, const struct nscg_log *log)
{
	(void)units;
	(void)n;
	(void)timeout_ms;
	nscg_log(log, LOG_ERR, "pam_nscg was built without systemd support");
	return -EOPNOTSUPP;
}

int nscg_logind_count_sessions(uid_t uid)
{
	(void)uid;
	return -EOPNOTSUPP;
}

int nscg_logind_terminate(const char *id, unsigned timeout_ms, const struct nscg_log *log)
{
	(void)id;
	(void)timeout_ms;
	nscg_log(log, LOG_ERR, "pam_nscg was built without systemd support");
	return -EOPNOTSUPP;
}

bool nscg_systemd_booted(void)
{
	return false;
}

int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim,
			unsigned timeout_ms, const struct nscg_log *log)
{
	(void)unit;
	(void)slice;
	(void)pids;
	(void)npids;
	(void)description;
	(void)lim;
	(void)timeout_ms;
	nscg_log(log, LOG_ERR, "pam_nscg was built without systemd support");
	return -EOPNOTSUPP;
}

int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid,
		      unsigned timeout_ms, const struct nscg_log *log)
{
	(void)scope;
	(void)back_to;
	(void)pid;
	(void)timeout_ms;
	nscg_log(log, LOG_ERR, "pam_nscg was built without systemd support");
	return -EOPNOTSUPP;
}

int nscg_sd_pid_unit(pid_t pid, char *buf, size_t len)
{
	(void)pid;
	(void)buf;
	(void)len;
	return -EOPNOTSUPP;
}

#else

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>

/* LEADER= of logind's record of session id, as sd-login reads its other
 * fields (sd_session_get_leader is newer than Debian 12's libsystemd). */
static int session_leader(const char *id, pid_t *leader)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	uint64_t v;

	snprintf(path, sizeof(path), "/run/systemd/sessions/%s", id);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int r = nscg_read_fd(fd, 1 << 16, &buf, NULL);
	if (r < 0)
		return r;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, "LEADER=", 7)) {
			if (nscg_parse_u64(line + 7, &v) < 0 || v == 0 || v > INT32_MAX)
				return -EBADMSG;
			*leader = (pid_t)v;
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENODATA;
}

/* logind's own view of the caller: its session must be the one the
 * path says (sd_pid_get_session also refuses a path that only looks like
 * a session, inside a user's delegated subtree); uid and leader are
 * logind's. 0: not a logind session after all. */
static int logind_confirm(struct nscg_logind_session *ls)
{
	char *id = NULL;
	uid_t uid;
	pid_t leader = 0;
	int r;

	r = sd_pid_get_session(0, &id);
	if (r == -ENODATA || r == -ENXIO)
		return 0;
	if (r < 0)
		return r;
	bool same = !strcmp(id, ls->id);
	free(id);
	if (!same)
		return 0;
	if ((r = sd_session_get_uid(ls->id, &uid)) < 0 ||
	    (r = session_leader(ls->id, &leader)) < 0)
		return r;
	ls->uid = uid;
	ls->leader = leader;
	snprintf(ls->slice, sizeof(ls->slice), "user-%u.slice", (unsigned)uid);
	return 1;
}

bool nscg_have_systemd(void)
{
	return true;
}

int nscg_logind_count_sessions(uid_t uid)
{
	/* All of them, closing ones too: a session whose processes linger
	 * counts, as in standalone mode. */
	return sd_uid_get_sessions(uid, -1, NULL);
}

/* One method call in flight, and what came back. */
struct call {
	int result; /* 0: pending, 1: answered, -errno: error reply */
	char what[80]; /* for the log, e.g. "setting the limits of session-3.scope" */
	char error[256];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct call *c = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)ret_error;
	if (!e) {
		c->result = 1;
		return 0;
	}
	int err = sd_bus_message_get_errno(m);
	c->result = err > 0 ? -err : -EIO;
	snprintf(c->error, sizeof(c->error), "%s%s%s", e->name,
		 e->message ? ": " : "", e->message ? e->message : "");
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Send msgs[0..n) on bus and run the bus until each is answered or the
 * deadline passes. sd-bus's own timeouts do not cover connecting and
 * authenticating; this loop bounds it all. */
static int call_all(sd_bus *bus, sd_bus_message **msgs, struct call *calls,
		    size_t n, unsigned timeout_ms, const struct nscg_log *log)
{
	uint64_t deadline = now_usec() + (uint64_t)timeout_ms * 1000u;
	int r;

	/* sd-bus's own timeout comes later: the deadline speaks first. */
	for (size_t i = 0; i < n; i++) {
		r = sd_bus_call_async(bus, NULL, msgs[i], on_reply, &calls[i],
				      ((uint64_t)timeout_ms + 1000u) * 1000u);
		if (r < 0)
			return nscg_log_errno(log, LOG_ERR, r, "cannot send %s to systemd",
					      calls[i].what);
	}
	for (;;) {
		struct call *pending = NULL;
		for (size_t i = n; i-- > 0;) {
			if (calls[i].result < 0) {
				nscg_log(log, LOG_ERR, "%s failed: %s", calls[i].what,
					 calls[i].error);
				return calls[i].result;
			}
			if (calls[i].result == 0)
				pending = &calls[i];
		}
		if (!pending)
			return 0;
		/* Checked on every turn: a stream of other messages (anyone
		 * may signal us) must not stretch the wait. */
		uint64_t now = now_usec();
		if (now >= deadline) {
			nscg_log(log, LOG_ERR, "no answer within %u ms to %s", timeout_ms,
				 pending->what);
			return -ETIMEDOUT;
		}
		r = sd_bus_process(bus, NULL);
		if (r == 0)
			r = sd_bus_wait(bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return nscg_log_errno(log, LOG_ERR, r,
					      "lost the connection to the system bus");
	}
}

static int open_bus(sd_bus **bus, const struct nscg_log *log)
{
	int r = sd_bus_open_system(bus);

	if (r < 0)
		return nscg_log_errno(log, LOG_ERR, r, "cannot connect to the system bus");
	return 0;
}

/* A call of systemd's manager interface, method. */
static int manager_call(sd_bus *bus, sd_bus_message **m, const char *method)
{
	return sd_bus_message_new_method_call(bus, m, "org.freedesktop.systemd1",
					      "/org/freedesktop/systemd1",
					      "org.freedesktop.systemd1.Manager", method);
}

/* Append lim as (sv) pairs to an open a(sv); returns how many, or -errno.
 * With reset, an unset limit goes as "none" (infinity, or unset for
 * weights and CPUs), except TasksMax: the user slices' own default
 * (TasksMax=33% in user-.slice.d) has no value that restores it. */
static int append_limits(sd_bus_message *m, const struct nscg_limits *lim, bool reset)
{
	static const struct {
		enum nscg_limit limit;
		const char *property;
		bool resettable;
	} plain[] = {
		{ NSCG_MEMORY_MAX, "MemoryMax", true },
		{ NSCG_MEMORY_HIGH, "MemoryHigh", true },
		{ NSCG_MEMORY_SWAP_MAX, "MemorySwapMax", true },
		{ NSCG_CPU_WEIGHT, "CPUWeight", true },
		{ NSCG_PIDS_MAX, "TasksMax", false },
		{ NSCG_IO_WEIGHT, "IOWeight", true },
	};
	int n = 0, r;

	/* NSCG_UNLIMITED is UINT64_MAX: systemd's infinity, and its
	 * "unset" for the weights. */
	for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
		bool set = lim->set[plain[i].limit];
		if (!set && !(reset && plain[i].resettable))
			continue;
		r = sd_bus_message_append(m, "(sv)", plain[i].property, "t",
					  set ? lim->num[plain[i].limit] : UINT64_MAX);
		if (r < 0)
			return r;
		n++;
	}
	if (lim->set[NSCG_CPU_MAX] || reset) {
		/* A percentage of one CPU: 100% is one second per second. */
		uint64_t q = lim->set[NSCG_CPU_MAX] ? lim->num[NSCG_CPU_MAX] : NSCG_UNLIMITED;
		r = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t",
					  q == NSCG_UNLIMITED ? UINT64_MAX : q * 10000u);
		if (r < 0)
			return r;
		n++;
	}
	if (lim->set[NSCG_CPUSET_CPUS] || reset) {
		uint8_t mask[NSCG_MAX_CPUS / 8];
		int len = 0;
		/* Reset: an empty mask, all CPUs. */
		if (lim->set[NSCG_CPUSET_CPUS] &&
		    (len = nscg_cpuset_to_bytes(&lim->cpus, mask, sizeof(mask))) < 0)
			return len;
		if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0 ||
		    (r = sd_bus_message_append(m, "s", "AllowedCPUs")) < 0 ||
		    (r = sd_bus_message_open_container(m, 'v', "ay")) < 0 ||
		    (r = sd_bus_message_append_array(m, 'y', mask, (size_t)len)) < 0 ||
		    (r = sd_bus_message_close_container(m)) < 0 ||
		    (r = sd_bus_message_close_container(m)) < 0)
			return r;
		n++;
	}
	return n;
}

#define MAX_UNITS 4

int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n,
		       unsigned timeout_ms, const struct nscg_log *log)
{
	sd_bus_message *msgs[MAX_UNITS + 1] = { NULL };
	struct call calls[MAX_UNITS + 1];
	sd_bus *bus = NULL;
	size_t used = 0;
	int r = 0;

	if (n > MAX_UNITS) {
		nscg_log(log, LOG_ERR, "too many units (%zu) for one request", n);
		return -EINVAL;
	}
	memset(calls, 0, sizeof(calls));
	if ((r = open_bus(&bus, log)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sd_bus_message *m = NULL;
		r = manager_call(bus, &m, "SetUnitProperties");
		if (r >= 0)
			r = sd_bus_message_append(m, "sb", units[i].unit, 1);
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'a', "(sv)");
		int count = r >= 0 ? append_limits(m, units[i].lim, units[i].reset) : r;
		if (count >= 0)
			r = sd_bus_message_close_container(m);
		if (count < 0 || r < 0) {
			sd_bus_message_unref(m);
			r = nscg_log_errno(log, LOG_ERR, count < 0 ? count : r,
					   "cannot build the limits of %s", units[i].unit);
			goto out;
		}
		if (count == 0) {
			sd_bus_message_unref(m);
			continue;
		}
		snprintf(calls[used].what, sizeof(calls[used].what),
			 "setting the limits of %s", units[i].unit);
		msgs[used++] = m;
	}
	if (used == 0)
		goto out;
	/* systemd writes the cgroup attributes from its main loop after
	 * answering; it handles one message per loop, in order, so the
	 * answer to a Ping sent last means the limits are in place. */
	r = sd_bus_message_new_method_call(bus, &msgs[used], "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.DBus.Peer", "Ping");
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to systemd");
		goto out;
	}
	snprintf(calls[used].what, sizeof(calls[used].what), "systemd's ping after the limits");
	used++;
	r = call_all(bus, msgs, calls, used, timeout_ms, log);
out:
	for (size_t i = 0; i < used; i++)
		sd_bus_message_unref(msgs[i]);
	/* Close without flushing: a flush has no bound. */
	sd_bus_close_unref(bus);
	return r < 0 ? r : 0;
}

int nscg_logind_terminate(const char *id, unsigned timeout_ms, const struct nscg_log *log)
{
	sd_bus_message *m = NULL;
	struct call call = { 0 };
	sd_bus *bus = NULL;
	int r;

	if ((r = open_bus(&bus, log)) < 0)
		return r;
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.login1",
					   "/org/freedesktop/login1",
					   "org.freedesktop.login1.Manager", "TerminateSession");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", id);
	if (r < 0)
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to logind");
	else {
		snprintf(call.what, sizeof(call.what), "logind's TerminateSession %s", id);
		r = call_all(bus, &m, &call, 1, timeout_ms, log);
	}
	sd_bus_message_unref(m);
	sd_bus_close_unref(bus);
	return r;
}

bool nscg_systemd_booted(void)
{
	return sd_booted() > 0;
}

/* Whether /proc/PID/cgroup puts pid into unit (its last path component,
 * in the unified hierarchy or in name=systemd). */
static bool in_unit(pid_t pid, const char *unit)
{
	char path[64], want[80];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "/%s\n", unit);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || nscg_read_fd(fd, 1 << 16, &buf, NULL) < 0)
		return false;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *hit = strstr(line, want);
		char *nl = strchr(line, '\n');
		if (hit && (!nl || hit < nl) &&
		    (!strncmp(line, "0::", 3) || strstr(line, ":name=systemd:") == strchr(line, ':')))
			return true;
	}
	return false;
}

int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim,
			unsigned timeout_ms, const struct nscg_log *log)
{
	uint64_t deadline = now_usec() + (uint64_t)timeout_ms * 1000u;
	sd_bus_message *m = NULL;
	struct call call = { 0 };
	sd_bus *bus = NULL;
	int r;

	if ((r = open_bus(&bus, log)) < 0)
		return r;
	r = manager_call(bus, &m, "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Description", "s", description,
					  "Slice", "s", slice, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "PIDs");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "au");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "u");
	for (size_t i = 0; i < npids && r >= 0; i++)
		r = sd_bus_message_append(m, "u", (uint32_t)pids[i]);
	for (int close = 0; close < 3 && r >= 0; close++)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = append_limits(m, lim, false);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build the scope %s", unit);
		goto out;
	}
	snprintf(call.what, sizeof(call.what), "starting %s in %s", unit, slice);
	if ((r = call_all(bus, &m, &call, 1, timeout_ms, log)) < 0)
		goto out;
	/* The answer means the start job is queued: wait until it has run
	 * and pid is in the scope (a few ms), within the same deadline. */
	while (!in_unit(pids[0], unit)) {
		if (now_usec() >= deadline) {
			r = -ETIMEDOUT;
			nscg_log(log, LOG_ERR, "%s was started, but the login is not in it within %u ms",
				 unit, timeout_ms);
			goto out;
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
out:
	sd_bus_message_unref(m);
	sd_bus_close_unref(bus);
	return r < 0 ? r : 0;
}

int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid,
		      unsigned timeout_ms, const struct nscg_log *log)
{
	sd_bus_message *m[2] = { NULL, NULL };
	struct call calls[2];
	sd_bus *bus = NULL;
	int r;

	if (!back_to || !*back_to) {
		nscg_log(log, LOG_NOTICE,
			 "the login came from no unit to go back to: %s ends when the login does",
			 scope);
		return 0;
	}
	memset(calls, 0, sizeof(calls));
	if ((r = open_bus(&bus, log)) < 0)
		return r;
	r = manager_call(bus, &m[0], "AttachProcessesToUnit");
	if (r >= 0)
		r = sd_bus_message_append(m[0], "ssau", back_to, "", 1, (uint32_t)pid);
	if (r >= 0)
		r = manager_call(bus, &m[1], "StopUnit");
	if (r >= 0)
		r = sd_bus_message_append(m[1], "ss", scope, "replace");
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to systemd");
		goto out;
	}
	snprintf(calls[0].what, sizeof(calls[0].what), "moving the login back to %s", back_to);
	snprintf(calls[1].what, sizeof(calls[1].what), "stopping %s", scope);
	/* One after the other: the stop must not reach the caller. */
	r = call_all(bus, &m[0], &calls[0], 1, timeout_ms, log);
	if (r == 0 && in_unit(pid, scope)) {
		nscg_log(log, LOG_ERR, "the login is still in %s: not stopping it", scope);
		r = -EBUSY;
	}
	if (r == 0)
		r = call_all(bus, &m[1], &calls[1], 1, timeout_ms, log);
out:
	sd_bus_message_unref(m[0]);
	sd_bus_message_unref(m[1]);
	sd_bus_close_unref(bus);
	return r;
}

int nscg_sd_pid_unit(pid_t pid, char *buf, size_t len)
{
	char *unit = NULL;
	int r = sd_pid_get_unit(pid, &unit);

	if (r < 0)
		return r;
	r = strlen(unit) < len ? 0 : -ENAMETOOLONG;
	if (r == 0)
		memcpy(buf, unit, strlen(unit) + 1);
	free(unit);
	return r;
}

#endif
