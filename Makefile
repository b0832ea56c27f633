# pam_nscg — see README.md. One entry point for building, testing and
# installing. `make test` installs its own Debian dependencies first.

VERSION    := 0.1.0
PREFIX     ?= /usr
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
# The distro's PAM module directory: pam.pc's libdir, else the multiarch path.
PAMDIR     ?= $(or $(shell pkg-config --variable=libdir pam 2>/dev/null),/lib/$(MULTIARCH))/security
HELPER_PATH = $(LIBEXECDIR)/nscg/nscg-helper
UNITDIR    ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)

MANPAGES   := man/pam_nscg.8 man/nscgctl.8 man/nscg-helper.8 man/nscg.conf.5

# Sanitizer builds live apart, so flags never mix in one tree.
B := $(if $(filter 1,$(SANITIZE)),build-san,build)

CC      ?= cc
CFLAGS  ?= -O2 -g
WERROR  ?= -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
WARN    := -Wall -Wextra $(WERROR) -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
DEFS    := -D_GNU_SOURCE -DNSCG_VERSION='"$(VERSION)"' \
           -DNSCG_HELPER_PATH='"$(HELPER_PATH)"' \
           -DNSCG_CONF_PATH='"$(SYSCONFDIR)/security/nscg.conf"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(DEFS) -Ilib $(CFLAGS) $(SAN)
LDHARDEN := -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS) $(SAN)

ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# The module reads the policy with its own line scanner and links no
# iniparser; the tools hold that scanner to iniparser (lib/policy-ini.c).
# libsystemd is loaded at run time where systemd mode needs it (sdbus.c).
MODULE_DEPS  = -ldl
LIBNSCG_DEPS = -liniparser -ldl

# systemd mode needs libsystemd's sd-bus: SYSTEMD=1 requires its headers
# (the library itself is loaded at run time, when a login needs it),
# SYSTEMD=0 builds without (standalone mode only), the default uses it
# when pkg-config finds it.
SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && echo 1 || echo 0)
ifeq ($(SYSTEMD),1)
DEFS    += -DHAVE_SYSTEMD=1
SD_LIBS := $(shell pkg-config --libs libsystemd)
endif

LIB_SRC := lib/util.c lib/log.c lib/limits.c lib/arena.c lib/policy-values.c lib/policy-load.c lib/policy-resolve.c lib/policy-ini.c lib/cgroup.c lib/cgroup-v1.c lib/cgroup-v2.c lib/ns.c lib/record.c lib/status.c lib/watch.c lib/sweep.c lib/usertmp.c lib/delegate.c lib/session.c lib/manager-standalone.c lib/manager-systemd.c lib/logind.c lib/sdbus.c
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIBNSCG := $(B)/libnscg.a

MODULE  := $(B)/pam_nscg.so
HELPER  := $(B)/nscg-helper
CLI     := $(B)/nscgctl
UNIT    := $(B)/test-unit
DLOPEN  := $(B)/test-dlopen
RETVAL  := $(B)/test-pam-retval
CGTEST  := $(B)/test-cgroup
NSTEST  := $(B)/test-ns
RUNNER  := $(B)/session-runner
FAKEHLP := $(B)/helper-dies-after-ready
BENCH   := $(B)/bench-policy
BENCHS  := $(B)/bench-session
BENCHF  := $(B)/bench-floor
KEYS    := $(B)/policy-keys

.PHONY: all check check-unit test test-soak test-vm deps install uninstall clean fuzz bench demo \
	deb deb-path rpm rpm-path
all: $(MODULE) $(HELPER) $(CLI)

# Each object's headers, as the compiler found them (-MMD): a change to a
# header rebuilds what includes it, and only that.
$(B)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d)

$(LIBNSCG): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(MODULE): $(B)/pam_module/pam_nscg.o $(LIBNSCG) pam_module/pam_nscg.map
	$(CC) -shared -o $@ $(B)/pam_module/pam_nscg.o $(LIBNSCG) $(MODULE_DEPS) \
	    $(ALL_LDFLAGS) -Wl,-z,defs -Wl,--version-script=pam_module/pam_nscg.map -lpam

# The helper runs as root with CAP_SYS_ADMIN: it links only the low-level
# objects it uses, and neither iniparser nor libsystemd (a link error here
# means one of them grew a dependency on the policy or on systemd).
HELPER_OBJ := $(addprefix $(B)/lib/,util.o log.o limits.o cgroup.o cgroup-v1.o cgroup-v2.o ns.o record.o status.o watch.o)
$(HELPER): $(B)/helper/nscg-helper.o $(HELPER_OBJ)
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) -lcap-ng

$(CLI): $(B)/cli/nscgctl.o $(B)/cli/steer.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

$(UNIT): $(B)/tests/unit/test-unit.o $(B)/tests/unit/test-policy.o $(B)/tests/unit/test-util.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

$(DLOPEN): $(B)/tests/unit/test-dlopen.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) -ldl

$(RETVAL): $(B)/tests/pam/pam-retval.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) -ldl -lpam

$(CGTEST): $(B)/tests/cgroup/test-cgroup.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

$(NSTEST): $(B)/tests/ns/test-ns.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

$(RUNNER): $(B)/tests/pam/session-runner.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) -lpam -lpthread

$(BENCHS): $(B)/bench/bench-session.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) -lpam

# The kernel's own cost of a login's steps: libc and util.o only.
$(BENCHF): $(B)/bench/bench-floor.o $(B)/lib/util.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS)

$(KEYS): $(B)/tests/pkg/policy-keys.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

$(FAKEHLP): $(B)/tests/fakes/helper-dies-after-ready.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS)

FAKESD := $(B)/fake-systemd
$(FAKESD): $(B)/tests/fakes/fake-systemd.o
	$(CC) -pie -o $@ $^ $(ALL_LDFLAGS) $(SD_LIBS)

$(BENCH): $(B)/bench/bench-policy.o $(LIBNSCG)
	$(CC) -pie -o $@ $^ $(LIBNSCG_DEPS) $(ALL_LDFLAGS)

# The fuzz target needs clang's libFuzzer; built without our hardening
# flags' -Werror noise from generated code.
FUZZ := $(B)/fuzz-policy
$(FUZZ): tests/fuzz/fuzz-policy.c $(LIB_SRC) $(wildcard lib/*.h)
	@mkdir -p $(B)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(DEFS) -Ilib \
	    $< $(LIB_SRC) $(LIBNSCG_DEPS) -o $@

fuzz: $(FUZZ)
	tests/fuzz/run $(FUZZ) $(or $(FUZZ_SECONDS),600)

bench: all $(BENCH) $(BENCHS) $(RUNNER) $(BENCHF)
	$(BENCH)
	BUILD=$(CURDIR)/$(B) bench/run-session.sh
	BUILD=$(CURDIR)/$(B) bench/run-login.sh
	BUILD=$(CURDIR)/$(B) bench/run-ssh.sh
	BUILD=$(CURDIR)/$(B) bench/run-scale.sh
	BUILD=$(CURDIR)/$(B) bench/run-status.sh
	BUILD=$(CURDIR)/$(B) bench/run-stress.sh

# Fast, no root: unit tests, the dlopen load test, a short fuzz run and
# the man pages against the code.
TEST_BINS = $(UNIT) $(DLOPEN) $(RETVAL) $(CGTEST) $(NSTEST) $(RUNNER) $(FAKEHLP) $(FUZZ) $(KEYS) \
            $(if $(filter 1,$(SYSTEMD)),$(FAKESD))
check: all $(TEST_BINS)
	BUILD=$(CURDIR)/$(B) tests/run check

# What the Debian and RPM builds run: no root, no clang.
check-unit: all $(UNIT) $(DLOPEN) $(RETVAL)
	BUILD=$(CURDIR)/$(B) tests/run unit

# Everything this machine can run. Installs its Debian dependencies first,
# then rebuilds in a sub-make so pkg-config sees them.
test: deps
	$(MAKE) all $(TEST_BINS)
	BUILD=$(CURDIR)/$(B) tests/run all

# The host tiers three times in a row beside a CPU and I/O load
# (tests/soak.sh): a suite that passes only on a quiet machine fails here.
test-soak: deps
	$(MAKE) all $(TEST_BINS)
	BUILD=$(CURDIR)/$(B) tests/soak.sh

deps:
	tests/deps.sh

# The VM tier alone (tests/vm/run.sh, also part of `make test`): real
# Debian 12 guests under qemu, pure v2, hybrid and pure v1, each with and
# without systemd mode.
test-vm: deps
	$(MAKE) all
	BUILD=$(CURDIR)/$(B) tests/vm/run.sh | tee $(B)/vm.log
	@p=$$(grep -c '^PASS:' $(B)/vm.log); f=$$(grep -c '^FAIL:' $(B)/vm.log); \
	    echo "$$p passed, $$f failed"; [ $$f -eq 0 ] && [ $$p -gt 0 ]

install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(LIBEXECDIR)/nscg \
	    $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/security/nscg.d \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_nscg.so
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/nscg/nscg-helper
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/nscgctl
	install -m 0644 $(filter %.5,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(filter %.8,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man8
	@# The sweep of abandoned sessions, every minute: a systemd timer,
	@# and a cron entry for hosts without systemd.
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/cron.d
	sed 's|@BINDIR@|$(BINDIR)|g' conf/nscg-gc.service >$(DESTDIR)$(UNITDIR)/nscg-gc.service
	install -m 0644 conf/nscg-gc.timer $(DESTDIR)$(UNITDIR)/nscg-gc.timer
	sed 's|@BINDIR@|$(BINDIR)|g' conf/nscg-gc.cron >$(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-gc
	@# The metrics for node_exporter, every minute once enabled: the
	@# timer is installed disabled, the cron entry commented out.
	sed 's|@BINDIR@|$(BINDIR)|g' conf/nscg-metrics.service >$(DESTDIR)$(UNITDIR)/nscg-metrics.service
	install -m 0644 conf/nscg-metrics.timer $(DESTDIR)$(UNITDIR)/nscg-metrics.timer
	sed 's|@BINDIR@|$(BINDIR)|g' conf/nscg-metrics.cron >$(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-metrics
	chmod 0644 $(DESTDIR)$(UNITDIR)/nscg-gc.service $(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-gc \
	    $(DESTDIR)$(UNITDIR)/nscg-metrics.service $(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-metrics
	@# Never overwrite an admin's policy.
	test -e $(DESTDIR)$(SYSCONFDIR)/security/nscg.conf || \
	    install -m 0644 conf/nscg.conf $(DESTDIR)$(SYSCONFDIR)/security/nscg.conf

uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_nscg.so $(DESTDIR)$(LIBEXECDIR)/nscg/nscg-helper \
	    $(DESTDIR)$(BINDIR)/nscgctl \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MANPAGES)))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MANPAGES)))) \
	    $(DESTDIR)$(UNITDIR)/nscg-gc.service $(DESTDIR)$(UNITDIR)/nscg-gc.timer \
	    $(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-gc \
	    $(DESTDIR)$(UNITDIR)/nscg-metrics.service $(DESTDIR)$(UNITDIR)/nscg-metrics.timer \
	    $(DESTDIR)$(SYSCONFDIR)/cron.d/nscg-metrics
	-rmdir $(DESTDIR)$(LIBEXECDIR)/nscg

# The main job, shown on this machine (see README).
demo: deps
	$(MAKE) all $(RUNNER)
	BUILD=$(CURDIR)/$(B) tests/demo.sh

# Packages, built from a clean copy of the tree (packaging/copy-tree.sh)
# under build/: the .deb lands in build/, the RPM under build/rpm/RPMS/.
# `make -s deb-path` and `make -s rpm-path` print where.
DEB := $(CURDIR)/build/libpam-nscg_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb
RPM := $(CURDIR)/build/rpm/RPMS/$(shell uname -m)/pam_nscg-$(VERSION)-1$(shell rpm --eval '%{?dist}' 2>/dev/null).$(shell uname -m).rpm

deb:
	packaging/debian/build.sh $(VERSION) $(DEB)

deb-path:
	@echo $(DEB)

rpm:
	packaging/rpm/build.sh $(VERSION) $(RPM)

rpm-path:
	@echo $(RPM)

clean:
	rm -rf $(B)

$(B)/tests/unit/test-policy.o: ALL_CFLAGS += -DNSCG_FIXTURES='"$(CURDIR)/tests/fixtures"'
