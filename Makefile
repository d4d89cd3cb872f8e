# spawnlab: `make` builds into $(BUILD); `make run` runs every case;
# `make test` runs the pytest suite against the real binaries.
# --- libc switch (issues 10, 18): `make LIBC=musl` builds statically against
# the host's musl (Debian's musl-tools) into build-musl unless BUILD is given;
# `make LIBC=glibc-SUITE` or `LIBC=musl-SUITE` (SUITE: bullseye, bookworm,
# trixie, sid) statically against that Debian suite's own libc, unpacked
# into the cache by scripts/libc-sysroot, with the host's gcc, into
# build-glibc-SUITE (build-musl-SUITE).
ifeq ($(LIBC),musl)
ifeq ($(origin CC),default)
CC      := musl-gcc
endif
BUILD   ?= build-musl
override LDFLAGS += -static
# Installed at parse time so that the version below is known on a fresh CI machine.
ifneq ($(shell scripts/ensure-debs musl-tools >&2; echo $$?),0)
$(error LIBC=musl needs Debian's musl-tools (scripts/ensure-debs musl-tools))
endif
MUSL_VERSION := $(shell dpkg-query -W -f='$${Version}' musl-dev 2>/dev/null)
ifneq ($(MUSL_VERSION),)
override CFLAGS += -DSL_LIBC_VERSION='"$(MUSL_VERSION)"'
endif
# musl-gcc leaves /usr/include out; the kernel's uapi headers (linux/, asm/)
# are libc-neutral, so they are offered through a folder of links, last.
MUSL_KINC := $(abspath $(BUILD))/kernel-headers
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
$(shell mkdir -p $(MUSL_KINC) && ln -sfn /usr/include/linux $(MUSL_KINC)/linux && \
	ln -sfn /usr/include/asm-generic $(MUSL_KINC)/asm-generic && \
	ln -sfn /usr/include/$(MULTIARCH)/asm $(MUSL_KINC)/asm)
override CFLAGS += -idirafter $(MUSL_KINC)
else ifneq ($(filter glibc-% musl-%,$(LIBC)),)
SYSROOT_LIBC  := $(firstword $(subst -, ,$(LIBC)))
SYSROOT_SUITE := $(patsubst $(SYSROOT_LIBC)-%,%,$(LIBC))
# Unpacked (downloaded once) at parse time: CC is in it.
SYSROOT := $(shell scripts/libc-sysroot $(SYSROOT_LIBC) $(SYSROOT_SUITE))
ifeq ($(SYSROOT),)
$(error LIBC=$(LIBC): scripts/libc-sysroot $(SYSROOT_LIBC) $(SYSROOT_SUITE) failed)
endif
ifeq ($(origin CC),default)
CC      := $(SYSROOT)/cc
endif
BUILD   ?= build-$(LIBC)
override LDFLAGS += -static
ifeq ($(SYSROOT_LIBC),musl)
override CFLAGS += -DSL_LIBC_VERSION='"$(shell cat $(SYSROOT)/VERSION)"'
endif
else ifneq ($(LIBC),)
$(error LIBC=$(LIBC): expected musl, glibc-SUITE or musl-SUITE (e.g. glibc-trixie))
endif
# --- end libc switch
BUILD   ?= build
CC      ?= cc
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
SL_CFLAGS := $(CSTD) $(WARN) $(OPT) -D_GNU_SOURCE -Iharness -I$(BUILD)/gen $(CFLAGS)
PYTHON  := /usr/bin/python3
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# The commit the sources are at, "-dirty" when tracked files differ from it.
GITREV  := $(shell r=$$(git rev-parse --short HEAD 2>/dev/null) && \
	     { git diff --quiet HEAD -- 2>/dev/null && echo $$r || echo $$r-dirty; } || echo unknown)

# The layout (../shared/ARCHITECTURE.md, README "Layout"): harness/cli ->
# {families, out} -> core -> backends -> {lib, pdspawn} -> sys, includes
# written from harness/ ("core/case.h").  libspawnlab.a holds every source
# but the command line (cli/), the programs the cases run (probe/) and
# pdspawn (its own archive, libpdspawn.a); the driver links it, and so do
# the fuzz targets (fuzz/build.sh takes this list from `make lib-src`).
CLI_SRC    := $(wildcard harness/cli/*.c)
PROG_SRC   := $(wildcard harness/probe/*.c)
PDSPAWN_ALL:= $(wildcard harness/pdspawn/*.c)
LIB_SRC    := $(sort $(filter-out $(CLI_SRC) $(PROG_SRC) $(PDSPAWN_ALL),$(wildcard harness/*/*.c harness/*/*/*.c)))
LIB_OBJ    := $(LIB_SRC:harness/%.c=$(BUILD)/obj/%.o)
CLI_OBJ    := $(CLI_SRC:harness/%.c=$(BUILD)/obj/%.o)
# The raw system calls pdspawn needs (libc_ext, the libc's identification, it does not).
SYS_SRC    := harness/sys/sys.c harness/sys/rawsig.c harness/sys/clone_fn.c
HEADERS    := $(wildcard harness/*/*.h harness/*/*/*.h)

.PHONY: all run test deps clean bench
all: $(BUILD)/spawnlab $(BUILD)/probe pdspawn-lib $(BUILD)/pdspawn-check $(BUILD)/pdspawn-check-legacy $(BUILD)/tiny $(BUILD)/tiny-dyn \
     $(BUILD)/pidfd-child $(BUILD)/waiter

# Which optional libc functions this compiler's libc declares and links
# (harness/sys/libc_ext.c calls those directly, so a static build carries
# them).  Regenerated when the compiler or its flags change.
GEN_CC := $(CC) $(CSTD) -D_GNU_SOURCE $(CFLAGS) $(LDFLAGS)
# The stamp is rewritten only when a build needs it and its text changed
# (not at parse time: fuzz/build.sh asks `make lib-src` with the fuzz
# compiler in CC, which rewrote it, and the next make rebuilt everything).
$(BUILD)/gen/cc: FORCE
	@mkdir -p $(@D) && { echo '$(GEN_CC)' | cmp -s - $@ || echo '$(GEN_CC)' >$@; }
.PHONY: FORCE
FORCE:
# The version and revision every result records (out/env.c, out/out_junit.c,
# cli/main.c's --version), in
# a header rewritten whenever they change: as a -D flag it reached only the
# objects that happened to be recompiled, and a result named an older commit
# than the code that produced it.
$(BUILD)/gen/revision.h: FORCE
	@mkdir -p $(@D) && t='#define SL_VERSION "$(VERSION)"\n#define SL_GITREV "$(GITREV)"'; \
	printf "$$t\n" | cmp -s - $@ || printf "$$t\n" >$@
$(BUILD)/obj/out/env.o $(BUILD)/obj/out/out_junit.o $(BUILD)/obj/cli/main.o: $(BUILD)/gen/revision.h
# (read through harness/out/version.h)
$(BUILD)/gen/libc_have.h: scripts/libc-have $(BUILD)/gen/cc
	scripts/libc-have $(GEN_CC) >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: harness/%.c $(HEADERS) Makefile VERSION $(BUILD)/gen/libc_have.h
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -c $< -o $@

$(BUILD)/libspawnlab.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# Symbols bound at start-up (BIND_NOW, full RELRO): every sandbox and
# spawner the driver forks would otherwise resolve its libc calls again,
# each writing the GOT into a copied page (18% fewer page faults over the
# exec, fd, libc and pidfd families, measured with perf stat).
DRIVER_LDFLAGS := -Wl,-z,relro,-z,now
$(BUILD)/spawnlab: $(CLI_OBJ) $(BUILD)/libspawnlab.a $(BUILD)/libpdspawn.a
	$(CC) $(SL_CFLAGS) $(LDFLAGS) $(DRIVER_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libspawnlab.a $(BUILD)/libpdspawn.a -lrt -lpthread -ldl

# The library's sources, for fuzz/build.sh (one list for both builds).
.PHONY: lib-src
lib-src:
	@echo $(LIB_SRC)

# The probe is static so that exec'ing it opens nothing (no ld.so) and it
# observes only what crossed exec.  Falls back to dynamic without libc.a.
$(BUILD)/probe: harness/probe/probe.c harness/lib/names.c harness/sys/rawsig.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ harness/probe/probe.c harness/lib/names.c harness/sys/rawsig.c 2>/dev/null || \
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ harness/probe/probe.c harness/lib/names.c harness/sys/rawsig.c

# The pidfd experiments' child: static like the probe, with threads.  In
# harness/probe/ (the redesign's home of the instruments), out of the
# harness/*.c glob that the driver and the fuzz targets link.
$(BUILD)/pidfd-child: harness/probe/pidfd_child.c harness/sys/sys.h Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -pthread -o $@ $< 2>/dev/null || \
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -pthread -o $@ $<

# The benchmark's child, static and dynamic (experiment_bench.c).
$(BUILD)/tiny: harness/probe/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ $< 2>/dev/null || $(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tiny-dyn: harness/probe/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -o $@ $<

# The child that only waits (harness/probe/waiter.c): without libc where the
# file knows the system-call convention, so that its exec is an execve and
# nothing more; static with the libc elsewhere.  Never sanitized.
WAITER_RAW := $(filter x86_64-% aarch64-%,$(shell $(CC) -dumpmachine 2>/dev/null))
$(BUILD)/waiter: harness/probe/waiter.c Makefile
	@mkdir -p $(@D)
ifneq ($(WAITER_RAW),)
	$(CC) $(CSTD) $(WARN) -O2 -g -DWAITER_RAW -ffreestanding -fno-stack-protector -fno-pie -static -nostdlib -o $@ $<
else
	$(CC) $(CSTD) $(WARN) -O2 -g -D_GNU_SOURCE -static -o $@ $< 2>/dev/null || $(CC) $(CSTD) $(WARN) -O2 -g -D_GNU_SOURCE -o $@ $<
endif

# ---- pdspawn (issue 21): the library, its checker, install -----------------
# harness/pdspawn builds from its own source and the raw system-call layer
# (harness/sys), nothing of the driver.  Its objects are compiled with hidden
# visibility; libpdspawn.a holds them as one relocatable object whose
# internal symbols are then made local, so that a program with an
# sl_close_range() or rawsig_set() of its own (the driver, the checker)
# still links; libpdspawn.so exports the pdspawn* symbols alone, versioned
# (pdspawn.map), with soname libpdspawn.so.$(PDSPAWN_ABI).
PDSPAWN_ABI     := 1
PDSPAWN_VERSION := 1.0.0
PDSPAWN_DIR     := harness/pdspawn
PDSPAWN_LIB_SRC := $(PDSPAWN_DIR)/pdspawn.c $(SYS_SRC)
PDSPAWN_LIB_OBJ := $(PDSPAWN_LIB_SRC:harness/%.c=$(BUILD)/lib/%.o)
PDSPAWN_SONAME  := libpdspawn.so.$(PDSPAWN_ABI)
PDSPAWN_SO      := libpdspawn.so.$(PDSPAWN_VERSION)
PDSPAWN_LIBS    := $(BUILD)/libpdspawn.a $(BUILD)/$(PDSPAWN_SO)
OBJCOPY         ?= objcopy
.PHONY: pdspawn-lib install uninstall
pdspawn-lib: $(PDSPAWN_LIBS)

$(BUILD)/lib/%.o: harness/%.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections -c $< -o $@

$(BUILD)/lib/pdspawn-all.o: $(PDSPAWN_LIB_OBJ)
	$(CC) -r -nostdlib -o $@ $(PDSPAWN_LIB_OBJ)
	$(OBJCOPY) --localize-hidden $@

$(BUILD)/libpdspawn.a: $(BUILD)/lib/pdspawn-all.o
	rm -f $@
	$(AR) rcs $@ $<

# -shared without $(LDFLAGS): LIBC=musl makes those -static.
$(BUILD)/$(PDSPAWN_SO): $(PDSPAWN_LIB_OBJ) $(PDSPAWN_DIR)/pdspawn.map
	$(CC) -shared -Wl,-soname,$(PDSPAWN_SONAME) -Wl,--version-script=$(PDSPAWN_DIR)/pdspawn.map \
		-Wl,--gc-sections -Wl,-z,defs -Wl,-z,relro -Wl,-z,now -o $@ $(PDSPAWN_LIB_OBJ)
	ln -sf $(PDSPAWN_SO) $(BUILD)/$(PDSPAWN_SONAME)
	ln -sf $(PDSPAWN_SONAME) $(BUILD)/libpdspawn.so

# pdspawn-check: the promises and the regression checks, linked against
# the archive as a program that uses it would be (plus harness/sys for
# its own raw calls, which must not clash with the archive's copies).
# (and the one libc identification, sys/libc_ext.c, that the driver uses too;
# -ldl for its dlsym before glibc 2.34)
PDSPAWN_CHECK_SRC := $(wildcard $(PDSPAWN_DIR)/check*.c) $(PDSPAWN_DIR)/pdspawn_check.c harness/sys/libc_ext.c
$(BUILD)/pdspawn-check: $(PDSPAWN_CHECK_SRC) $(SYS_SRC) $(BUILD)/libpdspawn.a $(HEADERS) $(PDSPAWN_DIR)/check.h Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $(PDSPAWN_CHECK_SRC) $(SYS_SRC) $(BUILD)/libpdspawn.a -lpthread -ldl

# The same checks with pdspawn held to the paths of a 5.4 kernel: clone()
# with every signal blocked (no clone3 or CLONE_CLEAR_SIGHAND, as before
# 5.5, under seccomp filters that refuse clone3, and on architectures
# without a trampoline) and no close_range (5.9), so its close() loop.
$(BUILD)/pdspawn-check-legacy: $(PDSPAWN_CHECK_SRC) $(PDSPAWN_LIB_SRC) $(HEADERS) $(PDSPAWN_DIR)/check.h Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -DPDSPAWN_NO_CLONE3 -DPDSPAWN_NO_CLOSE_RANGE $(LDFLAGS) -o $@ \
		$(PDSPAWN_CHECK_SRC) $(PDSPAWN_LIB_SRC) -lpthread -ldl

# pdspawn-vs-pidfd-spawn: pdspawn-check built statically against another
# Debian suite's glibc (scripts/pdspawn-glibc-sysroot, a sysroot under
# ~/.cache/spawnlab; trixie's 2.41 has pidfd_spawn) and run, so that every
# check is also put to glibc's pidfd_spawn: which of pdspawn's promises
# glibc's API keeps, as TAP and as JSON in $(PFS_JSON).
PFS_SUITE ?= trixie
PFS_JSON  ?= $(BUILD)/pdspawn-vs-pidfd-spawn.json
MULTIARCH ?= $(shell gcc -print-multiarch 2>/dev/null)
.PHONY: pdspawn-vs-pidfd-spawn
pdspawn-vs-pidfd-spawn: $(PDSPAWN_CHECK_SRC) $(PDSPAWN_LIB_SRC) $(HEADERS) $(PDSPAWN_DIR)/check.h
	@mkdir -p $(BUILD)
	sysroot=$$(scripts/pdspawn-glibc-sysroot $(PFS_SUITE)) && lib=$$sysroot/usr/lib/$(MULTIARCH) && \
	$(CC) $(CSTD) $(WARN) $(OPT) -D_GNU_SOURCE -Iharness --sysroot=$$sysroot \
		-B$$lib -L$$lib -static -o $(BUILD)/pdspawn-check-glibc-$(PFS_SUITE) \
		$(PDSPAWN_CHECK_SRC) $(PDSPAWN_LIB_SRC) -lpthread -ldl
	$(BUILD)/pdspawn-check-glibc-$(PFS_SUITE) --json $(PFS_JSON)
	@echo "pdspawn-vs-pidfd-spawn: $(PFS_JSON)"
	@echo "pdspawn-vs-pidfd-spawn: report $$(scripts/pdspawn-compare $(PFS_JSON))"

# make install PREFIX=/usr/local DESTDIR=: the header, both libraries,
# pdspawn.pc (from pdspawn.pc.in, with the directories given here) and the
# man page pdspawn(3), with a page per function that points to it.
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PDSPAWN_MAN_LINKS := pdspawn_wait pdspawn_kill pdspawn_pid pdspawn_uses_clone3
install: $(PDSPAWN_LIBS)
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(PDSPAWN_DIR)/pdspawn.h $(DESTDIR)$(INCLUDEDIR)/pdspawn.h
	install -m 644 $(BUILD)/libpdspawn.a $(DESTDIR)$(LIBDIR)/libpdspawn.a
	install -m 755 $(BUILD)/$(PDSPAWN_SO) $(DESTDIR)$(LIBDIR)/$(PDSPAWN_SO)
	ln -sf $(PDSPAWN_SO) $(DESTDIR)$(LIBDIR)/$(PDSPAWN_SONAME)
	ln -sf $(PDSPAWN_SONAME) $(DESTDIR)$(LIBDIR)/libpdspawn.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(PDSPAWN_VERSION)|' \
		$(PDSPAWN_DIR)/pdspawn.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/pdspawn.pc
	install -m 644 $(PDSPAWN_DIR)/pdspawn.3 $(DESTDIR)$(MANDIR)/man3/pdspawn.3
	for f in $(PDSPAWN_MAN_LINKS); do echo '.so man3/pdspawn.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3; done

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/pdspawn.h $(DESTDIR)$(LIBDIR)/libpdspawn.a $(DESTDIR)$(LIBDIR)/$(PDSPAWN_SO) \
		$(DESTDIR)$(LIBDIR)/$(PDSPAWN_SONAME) $(DESTDIR)$(LIBDIR)/libpdspawn.so \
		$(DESTDIR)$(PKGCONFIGDIR)/pdspawn.pc $(DESTDIR)$(MANDIR)/man3/pdspawn.3 \
		$(PDSPAWN_MAN_LINKS:%=$(DESTDIR)$(MANDIR)/man3/%.3)
# ---- end pdspawn -------------------------------------------------------------

# Debian packages the tests need, listed in tests/debs.txt (one place for
# every test; a test that still lacks one skips naming `make deps`);
# installed with apt-get as root, else the exact command is printed.
# A line that says --no-install-recommends is installed without them.
TEST_DEBS := $(strip $(shell sed -e 's/\#.*//' -e '/--no-install-recommends/d' tests/debs.txt))
TEST_DEBS_NOREC := $(strip $(shell sed -n -e 's/\#.*//' -e 's/--no-install-recommends//p' tests/debs.txt))
deps:
	@scripts/ensure-debs $(TEST_DEBS)
	@$(if $(TEST_DEBS_NOREC),scripts/ensure-debs --no-install-recommends $(TEST_DEBS_NOREC))

# The run goes to RUN_OUT (default reports/runs/<UTC time>); the report is
# rendered there even when cases fail, and make keeps the driver's status.
# The report's packages are installed before the run, so that their (quiet)
# installation does not come after the summary.  RUNFLAGS: e.g. --verbose,
# --quiet, --jobs 1, patterns.
REPORT_DEBS := python3-matplotlib python3-jinja2 python3-jsonschema
run: all
	@scripts/ensure-debs $(REPORT_DEBS) || echo "run: the report will not be rendered (packages above)"
	@out="$${RUN_OUT:-reports/runs/$$(date -u +%Y%m%dT%H%M%SZ)}"; \
	$(BUILD)/spawnlab run --probe $(BUILD)/probe --out "$$out" $(RUNFLAGS); rc=$$?; \
	if [ -f "$$out/result.json" ]; then \
		$(PYTHON) scripts/report "$$out/result.json" >/dev/null && echo "report: $$out/report.html" && \
		echo "        $$out/report.md" || { [ $$rc -ne 0 ] || rc=2; }; \
	fi; exit $$rc

# Two workers (pytest-xdist, from tests/debs.txt) when it is installed; the
# groups that must share a worker are in tests/conftest.py.  PYTEST_JOBS=
# runs the suite in one process.
PYTEST_JOBS ?= $(shell $(PYTHON) -c 'import xdist' 2>/dev/null && echo '-n 2 --dist loadgroup')
test: all deps
	SPAWNLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs --durations=20 $(PYTEST_JOBS) tests $(PYTEST_FLAGS)

# Spawn cost per backend against parent size, with the vfork+execve floor
# (cases/bench, run only when named).  Prints the table; numbers go to
# result.json.
bench: all
	$(BUILD)/spawnlab bench --probe $(BUILD)/probe $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)

# ---- reliability (issue 9): sanitizer and memory-checker runs ----------------
# check-asan: the driver and pdspawn-check built with ASan+UBSan (-O1) into
# $(ASAN_BUILD), then the whole suite against them.  Every sanitizer report,
# including those of the driver's forked sandbox children (whose exit codes
# the tests interpret), goes to $(ASAN_BUILD)/san-logs and fails the target.
# The probe and tiny stay unsanitized and static: they are the instruments
# the cases observe through, and a sanitizer runtime cannot link -static and
# would change what they see (it installs SEGV/BUS/FPE handlers, maps its
# shadow, reads /proc).  probe-asan, the same source sanitized and dynamic,
# is run on its own instead.
ASAN_BUILD := build-asan
# The tests check-asan runs (CI: the exec and fd families and the parser).
ASAN_TESTS ?= tests
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_LOGS    = $(abspath $(ASAN_BUILD))/san-logs
SAN_ENV     = ASAN_OPTIONS=detect_leaks=1:exitcode=86:log_path=$(SAN_LOGS)/asan \
	      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_LOGS)/ubsan
# A real report; ASan's "ignoring requested __asan_handle_no_return"
# warning is not one: CLONE_VM children (pdspawn's, the sigchld
# experiment's) run on stacks ASan does not know, and warns when they exit.
SAN_REAL    := ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)
.PHONY: check-asan check-valgrind
check-asan: deps
	@echo '$(CC) $(SAN_FLAGS)' | cmp -s - $(ASAN_BUILD)/.san-flags 2>/dev/null || \
		{ rm -rf $(ASAN_BUILD); mkdir -p $(ASAN_BUILD); echo '$(CC) $(SAN_FLAGS)' >$(ASAN_BUILD)/.san-flags; }
	$(MAKE) BUILD=$(ASAN_BUILD) OPT='-O1 -g' CFLAGS='$(SAN_FLAGS)' LDFLAGS='$(SAN_FLAGS)' \
		$(ASAN_BUILD)/spawnlab $(ASAN_BUILD)/pdspawn-check $(ASAN_BUILD)/pdspawn-check-legacy
	$(MAKE) BUILD=$(ASAN_BUILD) $(ASAN_BUILD)/probe $(ASAN_BUILD)/tiny $(ASAN_BUILD)/tiny-dyn $(ASAN_BUILD)/pidfd-child $(ASAN_BUILD)/waiter
	@# -Wno-restrict: gcc 12 misreads snprintf(f->kind, ..., f->link) under -fsanitize
	$(CC) $(CSTD) $(WARN) -Wno-restrict -O1 -g -D_GNU_SOURCE -Iharness $(SAN_FLAGS) \
		-o $(ASAN_BUILD)/probe-asan harness/probe/probe.c harness/lib/names.c harness/sys/rawsig.c
	rm -rf $(SAN_LOGS) && mkdir -m 1777 -p $(SAN_LOGS)
	$(SAN_ENV) $(ASAN_BUILD)/probe-asan --out $(ASAN_BUILD)/probe-asan.out --exit 3 9</dev/null; test $$? = 3
	$(SAN_ENV) SPAWNLAB_BUILD=$(abspath $(ASAN_BUILD)) $(PYTHON) -m pytest -q $(ASAN_TESTS) $(PYTEST_FLAGS); rc=$$?; \
	if grep -lE '$(SAN_REAL)' $(SAN_LOGS)/* 2>/dev/null | grep -q .; then \
		cat $$(grep -lE '$(SAN_REAL)' $(SAN_LOGS)/*); echo "check-asan: sanitizer reports above"; exit 1; fi; \
	n=$$(ls $(SAN_LOGS) | wc -l); [ $$n -eq 0 ] || echo "check-asan: $$n logs with warnings only (such as ASan's stack-switch warning for CLONE_VM children), no report"; \
	exit $$rc

# check-valgrind: a representative subset under memcheck, the driver
# process itself.  Its forks (sandbox init, spawner) are silenced: they
# _exit with their buffers in use (reported as definite leaks), valgrind's
# exit code would change their status, and it misreads mount(NULL type);
# check-asan covers them.  The probe is not traced (static; probe-asan
# covers it).  A distinct --error-exitcode: `run` exits 1 when a case fails.
VG_LOGS  = $(abspath $(BUILD))/vg-logs
VALGRIND = valgrind --quiet --error-exitcode=99 --trace-children=no --child-silent-after-fork=yes \
	   --leak-check=full --errors-for-leak-kinds=definite --log-file=$(VG_LOGS)/vg.%p
check-valgrind: all
	@scripts/ensure-debs valgrind
	rm -rf $(VG_LOGS) $(BUILD)/vg-run && mkdir -p $(VG_LOGS)
	$(VALGRIND) $(BUILD)/spawnlab list >/dev/null
	$(VALGRIND) $(BUILD)/spawnlab check
	$(VALGRIND) $(BUILD)/spawnlab backends
	$(VALGRIND) $(BUILD)/spawnlab features >/dev/null
	$(VALGRIND) $(BUILD)/spawnlab run exec --backend fork,pdspawn --out $(BUILD)/vg-run; test $$? -le 1
	@# Errors are "==PID==" lines; "--PID--" lines are valgrind's own notes
	@# (it has no wrapper for pidfd_open, so pdspawn is unavailable under it).
	@if grep -qE '^==[0-9]+== ' $(VG_LOGS)/*; then cat $(VG_LOGS)/*; echo "check-valgrind: errors above"; exit 1; fi
	@echo "check-valgrind: clean ($$(ls $(VG_LOGS) | wc -l) processes checked)"
# ---- end reliability --------------------------------------------------------

# ---- libc (issue 10): glibc and musl side by side ---------------------------
# libc-diff: build both, run the whole suite with each, compare the two
# result.json files (scripts/diff) and show how each libc's backends create
# the child (scripts/trace under strace -f).  Outputs in $(LIBC_DIFF_OUT).
MUSL_BUILD    ?= build-musl
LIBC_DIFF_OUT ?= reports/runs/libc-diff
.PHONY: libc-diff trace
libc-diff:
	$(MAKE) BUILD=$(BUILD) all
	$(MAKE) LIBC=musl BUILD=$(MUSL_BUILD) all
	@scripts/ensure-debs strace
	rm -rf $(LIBC_DIFF_OUT) && mkdir -p $(LIBC_DIFF_OUT)
	-$(BUILD)/spawnlab run --probe $(BUILD)/probe --out $(LIBC_DIFF_OUT)/glibc $(RUNFLAGS) >$(LIBC_DIFF_OUT)/glibc.txt
	-$(MUSL_BUILD)/spawnlab run --probe $(MUSL_BUILD)/probe --out $(LIBC_DIFF_OUT)/musl $(RUNFLAGS) >$(LIBC_DIFF_OUT)/musl.txt
	@tail -n 3 $(LIBC_DIFF_OUT)/glibc.txt $(LIBC_DIFF_OUT)/musl.txt
	-scripts/diff $(LIBC_DIFF_OUT)/glibc/result.json $(LIBC_DIFF_OUT)/musl/result.json
	scripts/trace --build $(BUILD) --out $(LIBC_DIFF_OUT)/trace-glibc
	scripts/trace --build $(MUSL_BUILD) --out $(LIBC_DIFF_OUT)/trace-musl

# trace: how each backend of this build creates its child, under strace -f.
trace: all
	@scripts/ensure-debs strace
	scripts/trace --build $(BUILD) $(TRACEFLAGS)
# ---- end libc ---------------------------------------------------------------

# ---- kernel regression runs in a VM (issues 12, 18) --------------------------
# One static build, $(STATIC), runs everywhere a kernel is compared: natively
# on the host and inside each VM, so that a kernel diff shows the kernel's
# changes and not the build's (scripts/diff --same-build checks it).
# vm-run KERNEL=IMAGE: the suite inside qemu on that kernel (KVM when it
# works, software emulation otherwise); vm-run-debian: on Debian's packaged
# kernel of VM_SUITE (bullseye, bookworm, trixie, sid), unpacked into the
# cache without installing it (scripts/debian-kernel); kernel-diff: the
# static build on the host and on that kernel, diffed.  VMFLAGS: patterns
# and vm-run options (default: the whole suite).
VM_DEBS  := qemu-system-x86 busybox-static file
VM_OUT   ?= reports/runs/kernel-diff
VM_SUITE ?= bookworm
STATIC   := $(BUILD)/static
STATIC_PROGRAMS := spawnlab probe tiny pdspawn-check pdspawn-check-legacy pidfd-child waiter
# kernel-diff's default: every family but cost (latency under software
# emulation means nothing), SIGCHLD load only at 10 children (emulation runs
# the 10,000-child cases for far too long).  KDIFF_CASES= to choose.
KDIFF_CASES ?= exec fd eintr pidwrap libc 'sigchld/*_10'
KDIFF_FLAGS ?= $(KDIFF_CASES) --timeout 1800
# Two makes into one static folder at once would link the same files
# together, and a check could read one half-written (make test's workers: the
# fuzz kernel replay and the LAVA and matrix tests all reach build/static
# through vm-run, which calls this target): every make into a static folder
# holds flock(1) on its .lock.
LOCKED = mkdir -p $(1) && flock $(1)/.lock
.PHONY: static vm-run vm-run-debian kernel-diff
static:
	$(call LOCKED,$(STATIC)) $(MAKE) -s BUILD=$(STATIC) LDFLAGS=-static $(addprefix $(STATIC)/,$(STATIC_PROGRAMS))

vm-run:
	@[ -n "$(KERNEL)" ] || { echo "usage: make vm-run KERNEL=/path/to/bzImage [VMFLAGS='exec']" >&2; exit 2; }
	@scripts/ensure-debs $(VM_DEBS)
	scripts/vm-run $(KERNEL) --build $(abspath $(STATIC)) $(VMFLAGS)

vm-run-debian:
	@scripts/ensure-debs $(VM_DEBS)
	scripts/vm-run $$(scripts/debian-kernel $(VM_SUITE)) --build $(abspath $(STATIC)) $(VMFLAGS)

kernel-diff: static
	@scripts/ensure-debs $(VM_DEBS) python3-jsonschema
	rm -rf $(VM_OUT) && mkdir -p $(VM_OUT)
	-$(STATIC)/spawnlab run --probe $(STATIC)/probe --out $(VM_OUT)/host $(KDIFF_CASES) > $(VM_OUT)/host.txt
	@tail -n 3 $(VM_OUT)/host.txt
	-scripts/vm-run $$(scripts/debian-kernel $(VM_SUITE)) --build $(abspath $(STATIC)) \
		--out $(VM_OUT)/vm $(KDIFF_FLAGS) > $(VM_OUT)/vm.txt
	@tail -n 3 $(VM_OUT)/vm.txt
	-scripts/diff --same-build $(VM_OUT)/host/result.json $(VM_OUT)/vm/result.json
# ---- end VM ----------------------------------------------------------------

# --- fuzzing (issue 7, issue 9 item 2, issue 20): fuzz/build.sh builds
# each target three ways into $(BUILD)/fuzz: libFuzzer with ASan+UBSan
# (NAME), AFL++ persistent mode when afl-clang-fast is installed
# (NAME-afl), and an engine-less replay build with $(CC) (NAME-replay);
# beside them the executor and the observer the targets drive
# (fuzz/executor.h), and bare_loop, the bare clone3+exit+waitid rate.
# fuzz/run.sh runs them (fuzz/README.md):
#   make fuzz-build                   build only
#   make fuzz FUZZ_SECONDS=60         each target on each engine: exec/s and
#                                     its ratio to the bare loop, children/s
#   make fuzz-smoke                   CI: short libFuzzer runs + seed replay;
#                                     fails on a crash or a new finding
#   make fuzz-parallel JOBS=N         AFL++ -M main + N-1 -S, one sync dir
#   make fuzz-bench                   planted-bug benchmark (fuzz/plants/):
#                                     time to first finding per bug and engine
#   make fuzz-kernels [KERNELS=...]   replay seeds, regression inputs and
#                                     FUZZ_CORPORA on the host and on each
#                                     kernel in a VM; differences between them
# Fuzzers run in their own pid namespace (unshare, as root) so nothing
# outlives them.  fuzz, fuzz-parallel and fuzz-bench install clang and
# AFL++ (Debian's afl++) with scripts/ensure-debs.
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_TARGETS ?= clone_flags fd_combo case_parse
FUZZ_RUNS    ?= 20000
FUZZ_SECONDS ?= 60
JOBS         ?= 2
FUZZ_DEBS    := clang afl++
FUZZ_ENV     := OUT=$(FUZZ_OUT) FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_RUNS=$(FUZZ_RUNS) \
		FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS)
.PHONY: fuzz fuzz-build fuzz-smoke fuzz-parallel fuzz-bench fuzz-kernels
fuzz-build:
	OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-replay CC=$(CC) CFLAGS='-O1 -g -static' \
	  LIB_FUZZING_ENGINE=fuzz/replay_main.c SUFFIX=-replay fuzz/build.sh
	OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-libfuzzer CC=clang \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' \
	  LIB_FUZZING_ENGINE=-fsanitize=fuzzer fuzz/build.sh
	if command -v afl-clang-fast >/dev/null; then \
	  OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-afl CC=afl-clang-fast CFLAGS='-O1 -g' AFL_QUIET=1 \
	    LIB_FUZZING_ENGINE=fuzz/afl_main.c SUFFIX=-afl fuzz/build.sh; \
	else echo "fuzz: afl-clang-fast not installed (make fuzz installs afl++): no AFL++ builds"; fi
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $(FUZZ_OUT)/bare_loop fuzz/bare_loop.c

fuzz:
	@scripts/ensure-debs $(FUZZ_DEBS)
	$(MAKE) fuzz-build
	$(FUZZ_ENV) fuzz/run.sh run

fuzz-smoke: fuzz-build
	$(FUZZ_ENV) SPAWNLAB_FINDINGS=$(abspath $(FUZZ_OUT))/smoke-findings fuzz/run.sh smoke

fuzz-parallel:
	@scripts/ensure-debs $(FUZZ_DEBS)
	$(MAKE) fuzz-build
	$(FUZZ_ENV) fuzz/run.sh parallel

# BENCH_SECONDS per trial (60), BENCH_TRIALS (3), PLANTS='01 07' (default
# all), BENCH_CONTROL_SECONDS (30): fuzz/bench.py --help
fuzz-bench:
	@scripts/ensure-debs $(FUZZ_DEBS)
	$(PYTHON) fuzz/bench.py run --out $(abspath $(BUILD))/fuzz-bench

# KERNELS: kernel images to boot (scripts/vm-run), after the host itself;
# default Debian's packaged kernels of FUZZ_KERNEL_SUITES
# (scripts/debian-kernel).  FUZZ_CORPORA: more inputs, TARGET=DIR ...
FUZZ_KERNEL_SUITES ?= bullseye bookworm trixie sid
fuzz-kernels:
	@scripts/ensure-debs $(VM_DEBS)
	$(PYTHON) fuzz/kernel-replay --out $(abspath $(BUILD))/fuzz-kernels \
	  $(foreach c,$(FUZZ_CORPORA),--corpus $(c)) \
	  $${KERNELS:-$$(for s in $(FUZZ_KERNEL_SUITES); do scripts/debian-kernel $$s || exit 1; done)}
# --- end fuzzing

# ---- diff against a baseline (issues 8, 18) ---------------------------------
# Runs the default suite (RUN_OUT as for `make run`), then scripts/diff from
# BASELINE to this run; by default the baseline of this kernel (major.minor)
# and this build's libc, else of this libc, else the newest
# (scripts/baselines pick).  Baselines are slim (scripts/baselines slim):
# what diff compares, not the raw observations.  Exit status: scripts/diff's
# (1 when something regressed).  DIFFFLAGS: e.g. --noise 50, --format markdown.
.PHONY: diff-baseline baselines
diff-baseline: all
	@scripts/ensure-debs python3-jsonschema
	@out="$${RUN_OUT:-reports/runs/$$(date -u +%Y%m%dT%H%M%SZ)}"; \
	$(BUILD)/spawnlab run --probe $(BUILD)/probe --out "$$out" $(RUNFLAGS) >/dev/null; \
	[ -f "$$out/result.json" ] || { echo "diff-baseline: the run wrote no $$out/result.json" >&2; exit 2; }; \
	base="$${BASELINE:-$$($(PYTHON) scripts/baselines pick "$$out/result.json")}" || exit 2; \
	echo "diff-baseline: $$base -> $$out/result.json" && \
	$(PYTHON) scripts/diff $(DIFFFLAGS) "$$base" "$$out/result.json"

# ---- CI and test farms (issue 23) -------------------------------------------
# kselftest-install INSTALL_PATH=DIR: spawnlab as the kselftest collection
# `spawnlab` in DIR (kselftest-list.txt, DIR/spawnlab/<family>, settings with
# KSFT_TIMEOUT seconds per family), static so that it runs on the target.
KSFT_BUILD   ?= $(STATIC)
KSFT_TIMEOUT ?= 900
.PHONY: kselftest-install
kselftest-install:
	@[ -n "$(INSTALL_PATH)" ] || { echo "usage: make kselftest-install INSTALL_PATH=DIR [KSFT_TIMEOUT=900]" >&2; exit 2; }
	$(call LOCKED,$(KSFT_BUILD)) $(MAKE) -s BUILD=$(KSFT_BUILD) LDFLAGS=-static $(KSFT_BUILD)/spawnlab $(KSFT_BUILD)/probe
	scripts/kselftest-install --build $(KSFT_BUILD) --timeout $(KSFT_TIMEOUT) $(INSTALL_PATH)

# lava-job KERNEL=IMAGE|URL: spawnlab's initramfs ($(LAVA_OUT)/spawnlab-initramfs.cpio.gz)
# and a LAVA job for a qemu device ($(LAVA_OUT)/job.yaml) that boots KERNEL with
# it and reports every case of LAVA_PATTERNS (default: the suite), checked
# with LAVA's schema (lava-common).  LAVA_RAMDISK=URL: where the lab serves
# the initramfs; LAVA_MODULES=/lib/modules/VERSION: drivers the kernel has as
# modules; LAVA_JOBFLAGS: scripts/lava/make-job options (--no-kvm, --git URL).
# lava-run-local: such a job on Debian's kernel, run here by lava-run
# (lava-dispatcher) on the qemu device scripts/lava/qemu-device.jinja2.
LAVA_OUT      ?= $(BUILD)/lava
LAVA_PATTERNS ?=
LAVA_JOBFLAGS ?=
LAVA_LOCAL    ?= exec
.PHONY: lava-job lava-run-local
lava-job:
	@[ -n "$(KERNEL)" ] || { echo "usage: make lava-job KERNEL=bzImage|URL [LAVA_PATTERNS='exec fd'] [LAVA_RAMDISK=URL] [LAVA_MODULES=DIR] [LAVA_JOBFLAGS=--no-kvm]" >&2; exit 2; }
	@scripts/ensure-debs busybox-static file lava-common
	scripts/lava/initramfs $(LAVA_OUT)/spawnlab-initramfs.cpio.gz --build $(abspath $(STATIC)) $(if $(LAVA_MODULES),--modules $(LAVA_MODULES))
	scripts/lava/make-job --kernel $(KERNEL) --ramdisk $(or $(LAVA_RAMDISK),$(LAVA_OUT)/spawnlab-initramfs.cpio.gz) \
		--out $(LAVA_OUT)/job.yaml $(LAVA_JOBFLAGS) $(LAVA_PATTERNS)

lava-run-local:
	@scripts/ensure-debs --no-install-recommends lava-dispatcher && \
		scripts/ensure-debs lava-common busybox-static file qemu-system-x86
	tree=$$(scripts/lava/kernel-tree $(abspath $(BUILD))/lava-kernel) && \
	$(MAKE) lava-job KERNEL=$$(echo $$tree/boot/vmlinuz-*) LAVA_MODULES=$$(echo $$tree/lib/modules/*) \
		LAVA_PATTERNS='$(LAVA_LOCAL)' LAVA_JOBFLAGS=--no-kvm LAVA_OUT=$(LAVA_OUT)/local && \
	scripts/lava/run-local $(LAVA_OUT)/local/job.yaml --out $(LAVA_OUT)/local/run --appliance-kernel-root $$tree \
		--expect-cases $$($(STATIC)/spawnlab list $(LAVA_LOCAL) | grep -vc '\[explicit\]')
# ---- end CI and test farms ---------------------------------------------------

# baselines MATRIX=DIR: the committed baselines, reports/baselines, made anew
# from a `make matrix` folder's columns (one slim file per kernel and libc).
baselines:
	@[ -d "$(MATRIX)" ] || { echo "usage: make baselines MATRIX=reports/runs/matrix-<time>" >&2; exit 2; }
	@scripts/ensure-debs python3-jsonschema
	rm -f reports/baselines/*.json
	$(PYTHON) scripts/baselines slim --out reports/baselines $(MATRIX)/*/result.json

# ---- the version matrix (issue 18) ------------------------------------------
# matrix: the suite on Debian's kernels (bullseye 5.10, bookworm 6.1, trixie
# 6.12, sid) in VMs and on the host, one static build on all of them, and
# on the host's kernel against glibc 2.31, 2.36 (the host's), 2.41 and musl
# 1.2.3, 1.2.5 (static builds from those suites' packages); then the history
# report (scripts/history) of what changed between them.  Columns and case
# subsets: scripts/versions.json; downloads are cached in ~/.cache/spawnlab.
# MATRIX_OUT=DIR to choose the folder; MATRIXFLAGS: scripts/matrix options
# (e.g. --kernels trixie --libcs glibc-trixie --kernel-subset smoke).
.PHONY: matrix
matrix:
	@scripts/ensure-debs $(VM_DEBS) python3-jsonschema python3-jinja2 python3-matplotlib
	$(PYTHON) scripts/matrix --build $(BUILD) $(if $(MATRIX_OUT),--out $(MATRIX_OUT)) $(MATRIXFLAGS)
