/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for systemd and logind on a private system bus, for the
 * systemd-mode tests on a host without systemd (the real ones run in the
 * VM tier). It owns org.freedesktop.systemd1 and org.freedesktop.login1
 * and writes each call it gets as one line to LOG:
 *
 *   SetUnitProperties UNIT runtime=1 MemoryMax=134217728 AllowedCPUs=01 ...
 *   Ping
 *   TerminateSession ID
 *   StartTransientUnit UNIT Slice=SLICE PIDs=N MemoryMax=... (and the others)
 *   AttachProcessesToUnit UNIT
 *   StopUnit UNIT
 *
 *   fake-systemd LOG [answer|fail|fail-scope|hang] [ROOT]
 *
 * ROOT is the unified cgroup directory the test plays systemd's tree in:
 * a transient scope is made as ROOT/user.slice/SLICE/UNIT with its PIDs
 * moved in, AttachProcessesToUnit moves into ROOT/system.slice/UNIT, and
 * StopUnit kills the scope (cgroup.kill).
 *
 * fail answers SetUnitProperties with an error (fail-scope: for scopes
 * only), hang never answers it. sd-bus answers Ping itself; a filter
 * logs it, to show the order. Prints "ready" once both names are owned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

struct fake {
	FILE *log;
	const char *mode;
	const char *root;
	sd_bus_message *held[64]; /* hang: calls never answered */
	size_t nheld;
};

/* Append one (sv) of a SetUnitProperties call to line, as NAME=VALUE. */
static int read_property(sd_bus_message *m, char *line, size_t len)
{
	const char *name, *sig;
	size_t o = strlen(line);
	int r;

	if ((r = sd_bus_message_enter_container(m, 'r', "sv")) <= 0)
		return r;
	if ((r = sd_bus_message_read(m, "s", &name)) < 0 ||
	    (r = sd_bus_message_peek_type(m, NULL, &sig)) < 0)
		return r;
	if (!strcmp(sig, "t")) {
		uint64_t v;
		if ((r = sd_bus_message_read(m, "v", "t", &v)) < 0)
			return r;
		snprintf(line + o, len - o, " %s=%llu", name, (unsigned long long)v);
	} else if (!strcmp(sig, "ay")) {
		const uint8_t *p;
		size_t n;
		if ((r = sd_bus_message_enter_container(m, 'v', "ay")) < 0 ||
		    (r = sd_bus_message_read_array(m, 'y', (const void **)&p, &n)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
		o += (size_t)snprintf(line + o, len - o, " %s=", name);
		for (size_t i = 0; i < n && o + 3 < len; i++)
			o += (size_t)snprintf(line + o, len - o, "%02x", p[i]);
	} else {
		snprintf(line + o, len - o, " %s:unexpected-type-%s", name, sig);
		if ((r = sd_bus_message_skip(m, "v")) < 0)
			return r;
	}
	if ((r = sd_bus_message_exit_container(m)) < 0)
		return r;
	return 1;
}

static int set_unit_properties(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;
	const char *unit;
	int runtime, r;
	char line[4096];

	if ((r = sd_bus_message_read(m, "sb", &unit, &runtime)) < 0)
		return r;
	snprintf(line, sizeof(line), "SetUnitProperties %s runtime=%d", unit, runtime);
	if ((r = sd_bus_message_enter_container(m, 'a', "(sv)")) < 0)
		return r;
	while ((r = read_property(m, line, sizeof(line))) > 0)
		;
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	fprintf(f->log, "%s\n", line);
	fflush(f->log);
	size_t ul = strlen(unit);
	if (!strcmp(f->mode, "fail") ||
	    (!strcmp(f->mode, "fail-scope") && ul > 6 && !strcmp(unit + ul - 6, ".scope")))
		return sd_bus_error_setf(err, "org.freedesktop.systemd1.NoSuchUnit",
					 "Unit %s not loaded.", unit);
	if (!strcmp(f->mode, "hang")) {
		if (f->nheld < sizeof(f->held) / sizeof(f->held[0]))
			f->held[f->nheld++] = sd_bus_message_ref(m);
		return 1;
	}
	return sd_bus_reply_method_return(m, NULL);
}

/* Write each pid of the au at m into DIR/cgroup.procs. */
static int move_pids(sd_bus_message *m, const char *dir, unsigned *n)
{
	char path[4200];
	uint32_t pid;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((r = sd_bus_message_enter_container(m, 'a', "u")) < 0)
		return r;
	while ((r = sd_bus_message_read(m, "u", &pid)) > 0) {
		FILE *f = fopen(path, "we");
		if (f) {
			fprintf(f, "%u\n", pid);
			fclose(f);
		}
		(*n)++;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int start_transient_unit(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;
	const char *unit, *mode, *slice = "-", *name;
	char line[4096], dir[4200];
	unsigned npids = 0;

	snprintf(dir, sizeof(dir), "%s", f->root);
	int r;

	(void)err;
	if ((r = sd_bus_message_read(m, "ss", &unit, &mode)) < 0 ||
	    (r = sd_bus_message_enter_container(m, 'a', "(sv)")) < 0)
		return r;
	snprintf(line, sizeof(line), "StartTransientUnit %s", unit);
	/* Slice comes before PIDs (the module's order): the dir is known. */
	while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &name)) < 0)
			return r;
		if (!strcmp(name, "Slice")) {
			if ((r = sd_bus_message_read(m, "v", "s", &slice)) < 0)
				return r;
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " Slice=%s", slice);
			snprintf(dir, sizeof(dir), "%s/user.slice/%s", f->root, slice);
			mkdir(dir, 0755);
			snprintf(dir, sizeof(dir), "%s/user.slice/%s/%s", f->root, slice, unit);
			mkdir(dir, 0755);
		} else if (!strcmp(name, "PIDs")) {
			if ((r = sd_bus_message_enter_container(m, 'v', "au")) < 0 ||
			    (r = move_pids(m, dir, &npids)) < 0 ||
			    (r = sd_bus_message_exit_container(m)) < 0)
				return r;
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " PIDs=%u", npids);
		} else if (!strcmp(name, "Description") || !strcmp(name, "CollectMode")) {
			if ((r = sd_bus_message_skip(m, "v")) < 0)
				return r;
		} else {
			/* A limit: NAME=VALUE as SetUnitProperties logs it. */
			const char *sig;
			if ((r = sd_bus_message_peek_type(m, NULL, &sig)) < 0)
				return r;
			if (!strcmp(sig, "t")) {
				uint64_t v;
				if ((r = sd_bus_message_read(m, "v", "t", &v)) < 0)
					return r;
				snprintf(line + strlen(line), sizeof(line) - strlen(line),
					 " %s=%llu", name, (unsigned long long)v);
			} else if ((r = sd_bus_message_skip(m, "v")) < 0) {
				return r;
			}
		}
		if ((r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	fprintf(f->log, "%s\n", line);
	fflush(f->log);
	return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/1");
}

static int attach_processes(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;
	const char *unit, *sub;
	char dir[4200];
	unsigned n = 0;
	int r;

	(void)err;
	if ((r = sd_bus_message_read(m, "ss", &unit, &sub)) < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/system.slice/%s", f->root, unit);
	if ((r = move_pids(m, dir, &n)) < 0)
		return r;
	fprintf(f->log, "AttachProcessesToUnit %s\n", unit);
	fflush(f->log);
	return sd_bus_reply_method_return(m, NULL);
}

static int stop_unit(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;
	const char *unit, *mode;
	char cmd[8400];
	int r;

	(void)err;
	if ((r = sd_bus_message_read(m, "ss", &unit, &mode)) < 0)
		return r;
	fprintf(f->log, "StopUnit %s\n", unit);
	fflush(f->log);
	snprintf(cmd, sizeof(cmd), "for k in %s/user.slice/*/%s/cgroup.kill; do echo 1 >\"$k\"; done 2>/dev/null",
		 f->root, unit);
	if (system(cmd) != 0) {
		/* nothing to kill */
	}
	return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/2");
}

static int terminate_session(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;
	const char *id;
	int r;

	(void)err;
	if ((r = sd_bus_message_read(m, "s", &id)) < 0)
		return r;
	fprintf(f->log, "TerminateSession %s\n", id);
	fflush(f->log);
	return sd_bus_reply_method_return(m, NULL);
}

static int log_ping(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
	struct fake *f = userdata;

	(void)err;
	if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Peer", "Ping")) {
		fprintf(f->log, "Ping\n");
		fflush(f->log);
	}
	return 0;
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", set_unit_properties, 0),
	SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", start_transient_unit, 0),
	SD_BUS_METHOD("AttachProcessesToUnit", "ssau", "", attach_processes, 0),
	SD_BUS_METHOD("StopUnit", "ss", "o", stop_unit, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable login_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("TerminateSession", "s", "", terminate_session, 0),
	SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
	struct fake f = { .mode = argc > 2 ? argv[2] : "answer", .root = argc > 3 ? argv[3] : "/nonexistent" };
	sd_bus *bus = NULL;
	int r;

	if (argc < 2 || !(f.log = fopen(argv[1], "ae"))) {
		fprintf(stderr, "usage: fake-systemd LOG [answer|fail|fail-scope|hang] [ROOT]\n");
		return 2;
	}
	if ((r = sd_bus_open_system(&bus)) < 0 ||
	    (r = sd_bus_add_filter(bus, NULL, log_ping, &f)) < 0 ||
	    (r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1",
					  "org.freedesktop.systemd1.Manager",
					  manager_vtable, &f)) < 0 ||
	    (r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/login1",
					  "org.freedesktop.login1.Manager",
					  login_vtable, &f)) < 0 ||
	    (r = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0)) < 0 ||
	    (r = sd_bus_request_name(bus, "org.freedesktop.login1", 0)) < 0) {
		fprintf(stderr, "fake-systemd: %s\n", strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "fake-systemd: %s\n", strerror(-r));
			return 1;
		}
		if (r == 0 && (r = sd_bus_wait(bus, UINT64_MAX)) < 0)
			return 1;
	}
}
