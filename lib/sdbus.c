/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sdbus.h"

#include "logind.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef HAVE_SYSTEMD

bool nscg_have_systemd(void)
{
	return false;
}

static int unsupported(const struct nscg_log *log)
{
	nscg_log(log, LOG_ERR, "pam_nscg was built without systemd support");
	return -EOPNOTSUPP;
}

int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n, unsigned timeout_ms,
		       const struct nscg_log *log)
{
	return unsupported(log);
}

int nscg_logind_terminate(const char *id, unsigned timeout_ms, const struct nscg_log *log)
{
	return unsupported(log);
}

int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim, bool delegate,
			unsigned timeout_ms, const struct nscg_log *log)
{
	return unsupported(log);
}

int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid, bool stop,
		      unsigned timeout_ms, const struct nscg_log *log)
{
	return unsupported(log);
}

#else

#include <dlfcn.h>
#include <systemd/sd-bus.h>

/* The part of libsystemd pam_nscg calls, loaded per call. */
struct sd {
	void *dl;
	__typeof__(sd_bus_open_system) *open_system;
	__typeof__(sd_bus_message_new_method_call) *new_method_call;
	__typeof__(sd_bus_message_append) *append;
	__typeof__(sd_bus_message_append_array) *append_array;
	__typeof__(sd_bus_message_open_container) *open_container;
	__typeof__(sd_bus_message_close_container) *close_container;
	__typeof__(sd_bus_call_async) *call_async;
	__typeof__(sd_bus_process) *process;
	__typeof__(sd_bus_wait) *wait;
	__typeof__(sd_bus_message_unref) *message_unref;
	__typeof__(sd_bus_close_unref) *close_unref;
	__typeof__(sd_bus_message_get_error) *get_error;
	__typeof__(sd_bus_message_get_errno) *get_errno;
};

#define LIBSYSTEMD "libsystemd.so.0"

/* Load libsystemd and look its functions up; -EOPNOTSUPP with a log
 * line if it is missing or too old. It stays mapped once loaded
 * (RTLD_NODELETE): its thread-local caches and fork handlers must never
 * point into an unmapped library, and a process that needed it once
 * (a login) will need it at close again. */
static int sd_load(struct sd *sd, const struct nscg_log *log)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(field, name) { #name, offsetof(struct sd, field) }
		SYM(open_system, sd_bus_open_system),
		SYM(new_method_call, sd_bus_message_new_method_call),
		SYM(append, sd_bus_message_append),
		SYM(append_array, sd_bus_message_append_array),
		SYM(open_container, sd_bus_message_open_container),
		SYM(close_container, sd_bus_message_close_container),
		SYM(call_async, sd_bus_call_async),
		SYM(process, sd_bus_process),
		SYM(wait, sd_bus_wait),
		SYM(message_unref, sd_bus_message_unref),
		SYM(close_unref, sd_bus_close_unref),
		SYM(get_error, sd_bus_message_get_error),
		SYM(get_errno, sd_bus_message_get_errno),
#undef SYM
	};

	memset(sd, 0, sizeof(*sd));
	sd->dl = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!sd->dl) {
		nscg_log(log, LOG_ERR, "cannot load %s: %s", LIBSYSTEMD, dlerror());
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
		void *fn = dlsym(sd->dl, syms[i].name);
		if (!fn) {
			nscg_log(log, LOG_ERR, "%s has no %s", LIBSYSTEMD, syms[i].name);
			dlclose(sd->dl);
			sd->dl = NULL;
			return -EOPNOTSUPP;
		}
		memcpy((char *)sd + syms[i].off, &fn, sizeof(fn));
	}
	return 0;
}

static void sd_unload(struct sd *sd)
{
	if (sd->dl)
		dlclose(sd->dl);
	sd->dl = NULL;
}

bool nscg_have_systemd(void)
{
	return true;
}

/* One method call in flight, and what came back. */
struct call {
	const struct sd *sd;
	int result; /* 0: pending, 1: answered, -errno: error reply */
	char what[80]; /* for the log, e.g. "setting the limits of session-3.scope" */
	char error[256];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct call *c = userdata;
	const struct sd *sd = c->sd;
	const sd_bus_error *e = sd->get_error(m);

	(void)ret_error;
	if (!e) {
		c->result = 1;
		return 0;
	}
	int err = sd->get_errno(m);
	c->result = err > 0 ? -err : -EIO;
	snprintf(c->error, sizeof(c->error), "%s%s%s", e->name,
		 e->message ? ": " : "", e->message ? e->message : "");
	return 0;
}

/* Send msgs[0..n) on bus and run the bus until each is answered or the
 * deadline passes. sd-bus's own timeouts do not cover connecting and
 * authenticating; this loop bounds it all. */
static int call_all(const struct sd *sd, sd_bus *bus, sd_bus_message **msgs, struct call *calls,
		    size_t n, unsigned timeout_ms, const struct nscg_log *log)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	int r;

	/* sd-bus's own timeout comes later: the deadline speaks first. */
	for (size_t i = 0; i < n; i++) {
		calls[i].sd = sd;
		r = sd->call_async(bus, NULL, msgs[i], on_reply, &calls[i],
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
		uint64_t now = nscg_now_ms();
		if (now >= deadline) {
			nscg_log(log, LOG_ERR, "no answer within %u ms to %s", timeout_ms,
				 pending->what);
			return -ETIMEDOUT;
		}
		r = sd->process(bus, NULL);
		if (r == 0)
			r = sd->wait(bus, (deadline - now) * 1000u);
		if (r < 0 && r != -EINTR)
			return nscg_log_errno(log, LOG_ERR, r,
					      "lost the connection to the system bus");
	}
}

/* libsystemd loaded and a connection to the system bus made. */
static int open_bus(struct sd *sd, sd_bus **bus, const struct nscg_log *log)
{
	int r = sd_load(sd, log);

	*bus = NULL;
	if (r < 0)
		return r;
	if ((r = sd->open_system(bus)) < 0) {
		sd_unload(sd);
		return nscg_log_errno(log, LOG_ERR, r, "cannot connect to the system bus");
	}
	return 0;
}

/* The other end of open_bus: closed without flushing (a flush has no
 * bound), and libsystemd let go of. */
static void close_bus(struct sd *sd, sd_bus *bus)
{
	sd->close_unref(bus);
	sd_unload(sd);
}

/* A call of systemd's manager interface, method. */
static int manager_call(const struct sd *sd, sd_bus *bus, sd_bus_message **m, const char *method)
{
	return sd->new_method_call(bus, m, "org.freedesktop.systemd1",
				   "/org/freedesktop/systemd1",
				   "org.freedesktop.systemd1.Manager", method);
}

/* Append lim as (sv) pairs to an open a(sv); returns how many, or -errno.
 * With reset, an unset limit goes as "none" (infinity, or unset for
 * weights and CPUs), except TasksMax: the user slices' own default
 * (TasksMax=33% in user-.slice.d) has no value that restores it. */
static int append_limits(const struct sd *sd, sd_bus_message *m, const struct nscg_limits *lim,
			 bool reset)
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
		r = sd->append(m, "(sv)", plain[i].property, "t",
			       set ? lim->num[plain[i].limit] : UINT64_MAX);
		if (r < 0)
			return r;
		n++;
	}
	if (lim->set[NSCG_CPU_MAX] || reset) {
		/* A percentage of one CPU: 100% is one second per second. */
		uint64_t q = lim->set[NSCG_CPU_MAX] ? lim->num[NSCG_CPU_MAX] : NSCG_UNLIMITED;
		r = sd->append(m, "(sv)", "CPUQuotaPerSecUSec", "t",
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
		if ((r = sd->open_container(m, 'r', "sv")) < 0 ||
		    (r = sd->append(m, "s", "AllowedCPUs")) < 0 ||
		    (r = sd->open_container(m, 'v', "ay")) < 0 ||
		    (r = sd->append_array(m, 'y', mask, (size_t)len)) < 0 ||
		    (r = sd->close_container(m)) < 0 ||
		    (r = sd->close_container(m)) < 0)
			return r;
		n++;
	}
	return n;
}

#define MAX_UNITS 4

int nscg_sd_set_limits(const struct nscg_unit_limits *units, size_t n,
		       unsigned timeout_ms, const struct nscg_log *log)
{
	struct sd sd;
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
	if ((r = open_bus(&sd, &bus, log)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sd_bus_message *m = NULL;
		r = manager_call(&sd, bus, &m, "SetUnitProperties");
		if (r >= 0)
			r = sd.append(m, "sb", units[i].unit, 1);
		if (r >= 0)
			r = sd.open_container(m, 'a', "(sv)");
		int count = r >= 0 ? append_limits(&sd, m, units[i].lim, units[i].reset) : r;
		if (count >= 0)
			r = sd.close_container(m);
		if (count < 0 || r < 0) {
			sd.message_unref(m);
			r = nscg_log_errno(log, LOG_ERR, count < 0 ? count : r,
					   "cannot build the limits of %s", units[i].unit);
			goto out;
		}
		if (count == 0) {
			sd.message_unref(m);
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
	r = sd.new_method_call(bus, &msgs[used], "org.freedesktop.systemd1",
			       "/org/freedesktop/systemd1",
			       "org.freedesktop.DBus.Peer", "Ping");
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to systemd");
		goto out;
	}
	snprintf(calls[used].what, sizeof(calls[used].what), "systemd's ping after the limits");
	used++;
	r = call_all(&sd, bus, msgs, calls, used, timeout_ms, log);
out:
	for (size_t i = 0; i < used; i++)
		sd.message_unref(msgs[i]);
	close_bus(&sd, bus);
	return r < 0 ? r : 0;
}

int nscg_logind_terminate(const char *id, unsigned timeout_ms, const struct nscg_log *log)
{
	struct sd sd;
	sd_bus_message *m = NULL;
	struct call call = { 0 };
	sd_bus *bus = NULL;
	int r;

	if ((r = open_bus(&sd, &bus, log)) < 0)
		return r;
	r = sd.new_method_call(bus, &m, "org.freedesktop.login1",
			       "/org/freedesktop/login1",
			       "org.freedesktop.login1.Manager", "TerminateSession");
	if (r >= 0)
		r = sd.append(m, "s", id);
	if (r < 0)
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to logind");
	else {
		snprintf(call.what, sizeof(call.what), "logind's TerminateSession %s", id);
		r = call_all(&sd, bus, &m, &call, 1, timeout_ms, log);
	}
	sd.message_unref(m);
	close_bus(&sd, bus);
	return r;
}

int nscg_sd_start_scope(const char *unit, const char *slice, const pid_t *pids, size_t npids,
			const char *description, const struct nscg_limits *lim, bool delegate,
			unsigned timeout_ms, const struct nscg_log *log)
{
	uint64_t deadline = nscg_now_ms() + timeout_ms;
	sd_bus_message *m = NULL;
	struct sd sd;
	struct call call = { 0 };
	sd_bus *bus = NULL;
	int r;

	if ((r = open_bus(&sd, &bus, log)) < 0)
		return r;
	r = manager_call(&sd, bus, &m, "StartTransientUnit");
	if (r >= 0)
		r = sd.append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd.open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd.append(m, "(sv)(sv)(sv)", "Description", "s", description,
			      "Slice", "s", slice, "CollectMode", "s",
			      "inactive-or-failed");
	if (r >= 0 && delegate)
		r = sd.append(m, "(sv)", "Delegate", "b", 1);
	if (r >= 0)
		r = sd.open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd.append(m, "s", "PIDs");
	if (r >= 0)
		r = sd.open_container(m, 'v', "au");
	if (r >= 0)
		r = sd.open_container(m, 'a', "u");
	for (size_t i = 0; i < npids && r >= 0; i++)
		r = sd.append(m, "u", (uint32_t)pids[i]);
	for (int close = 0; close < 3 && r >= 0; close++)
		r = sd.close_container(m);
	if (r >= 0)
		r = append_limits(&sd, m, lim, false);
	if (r >= 0)
		r = sd.close_container(m);
	if (r >= 0)
		r = sd.append(m, "a(sa(sv))", 0);
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build the scope %s", unit);
		goto out;
	}
	snprintf(call.what, sizeof(call.what), "starting %s in %s", unit, slice);
	if ((r = call_all(&sd, bus, &m, &call, 1, timeout_ms, log)) < 0)
		goto out;
	/* The answer means the start job is queued: wait until it has run
	 * and pid is in the scope (a few ms), within the same deadline. */
	while (!nscg_pid_in_unit(pids[0], unit)) {
		if (nscg_now_ms() >= deadline) {
			r = -ETIMEDOUT;
			nscg_log(log, LOG_ERR, "%s was started, but the login is not in it within %u ms",
				 unit, timeout_ms);
			goto out;
		}
		nscg_sleep_ms(2);
	}
out:
	sd.message_unref(m);
	close_bus(&sd, bus);
	return r < 0 ? r : 0;
}

int nscg_sd_end_scope(const char *scope, const char *back_to, pid_t pid, bool stop,
		      unsigned timeout_ms, const struct nscg_log *log)
{
	struct sd sd;
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
	if ((r = open_bus(&sd, &bus, log)) < 0)
		return r;
	r = manager_call(&sd, bus, &m[0], "AttachProcessesToUnit");
	if (r >= 0)
		r = sd.append(m[0], "ssau", back_to, "", 1, (uint32_t)pid);
	if (r >= 0)
		r = manager_call(&sd, bus, &m[1], "StopUnit");
	if (r >= 0)
		r = sd.append(m[1], "ss", scope, "replace");
	if (r < 0) {
		nscg_log_errno(log, LOG_ERR, r, "cannot build a message to systemd");
		goto out;
	}
	snprintf(calls[0].what, sizeof(calls[0].what), "moving the login back to %s", back_to);
	snprintf(calls[1].what, sizeof(calls[1].what), "stopping %s", scope);
	/* One after the other: the stop must not reach the caller. */
	r = call_all(&sd, bus, &m[0], &calls[0], 1, timeout_ms, log);
	if (r == 0 && nscg_pid_in_unit(pid, scope)) {
		nscg_log(log, LOG_ERR, "the login is still in %s: not stopping it", scope);
		r = -EBUSY;
	}
	if (r == 0 && stop)
		r = call_all(&sd, bus, &m[1], &calls[1], 1, timeout_ms, log);
out:
	sd.message_unref(m[0]);
	sd.message_unref(m[1]);
	close_bus(&sd, bus);
	return r;
}


#endif
