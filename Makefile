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
GITREV  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The driver: every harness source but the separate programs.
PROGRAMS   := harness/probe.c harness/pdspawn_check.c harness/tiny.c
DRIVER_SRC := $(filter-out $(PROGRAMS),$(wildcard harness/*.c))
DRIVER_OBJ := $(DRIVER_SRC:harness/%.c=$(BUILD)/obj/%.o)
HEADERS    := $(wildcard harness/*.h)

.PHONY: all run test deps clean bench
all: $(BUILD)/spawnlab $(BUILD)/probe $(BUILD)/pdspawn-check $(BUILD)/pdspawn-check-legacy $(BUILD)/tiny $(BUILD)/tiny-dyn

# Which optional libc functions this compiler's libc declares and links
# (harness/libc_ext.c calls those directly, so a static build carries
# them).  Regenerated when the compiler or its flags change.
GEN_CC := $(CC) $(CSTD) -D_GNU_SOURCE $(CFLAGS) $(LDFLAGS)
$(shell mkdir -p $(BUILD)/gen && { echo '$(GEN_CC)' | cmp -s - $(BUILD)/gen/cc || echo '$(GEN_CC)' >$(BUILD)/gen/cc; })
$(BUILD)/gen/libc_have.h: scripts/libc-have $(BUILD)/gen/cc
	scripts/libc-have $(GEN_CC) >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: harness/%.c $(HEADERS) Makefile VERSION $(BUILD)/gen/libc_have.h
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -DSL_VERSION='"$(VERSION)"' -DSL_GITREV='"$(GITREV)"' -c $< -o $@

$(BUILD)/spawnlab: $(DRIVER_OBJ)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $(DRIVER_OBJ) -lrt -lpthread -ldl

# The probe is static so that exec'ing it opens nothing (no ld.so) and it
# observes only what crossed exec.  Falls back to dynamic without libc.a.
$(BUILD)/probe: harness/probe.c harness/names.c harness/rawsig.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ harness/probe.c harness/names.c harness/rawsig.c 2>/dev/null || \
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ harness/probe.c harness/names.c harness/rawsig.c

# The benchmark's child, static and dynamic (experiment_bench.c).
$(BUILD)/tiny: harness/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ $< 2>/dev/null || $(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tiny-dyn: harness/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -o $@ $<

PDSPAWN_CHECK_SRC := harness/pdspawn_check.c harness/pdspawn.c harness/clone_fn.c harness/rawsig.c harness/sys.c
$(BUILD)/pdspawn-check: $(PDSPAWN_CHECK_SRC) $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $(PDSPAWN_CHECK_SRC)

# The same checks with pdspawn held to its clone() path, the one kernels
# before 5.5, seccomp-filtered containers and other architectures take.
$(BUILD)/pdspawn-check-legacy: $(PDSPAWN_CHECK_SRC) $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -DPDSPAWN_NO_CLONE3 $(LDFLAGS) -o $@ $(PDSPAWN_CHECK_SRC)

# Debian packages the tests need; installed with apt-get as root, else the
# exact command is printed.
TEST_DEBS := python3-pytest python3-jsonschema
deps:
	@scripts/ensure-debs $(TEST_DEBS)

# The run goes to RUN_OUT (default reports/runs/<UTC time>); the report is
# rendered there even when cases fail, and make keeps the driver's status.
REPORT_DEBS := python3-matplotlib python3-jinja2 python3-jsonschema
run: all
	@out="$${RUN_OUT:-reports/runs/$$(date -u +%Y%m%dT%H%M%SZ)}"; \
	$(BUILD)/spawnlab run --probe $(BUILD)/probe --out "$$out" $(RUNFLAGS); rc=$$?; \
	if [ -f "$$out/result.json" ]; then \
		scripts/ensure-debs $(REPORT_DEBS) && $(PYTHON) scripts/report "$$out/result.json" || { [ $$rc -ne 0 ] || rc=2; }; \
	fi; exit $$rc

test: all deps
	SPAWNLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests $(PYTEST_FLAGS)

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
	$(MAKE) BUILD=$(ASAN_BUILD) $(ASAN_BUILD)/probe $(ASAN_BUILD)/tiny $(ASAN_BUILD)/tiny-dyn
	@# -Wno-restrict: gcc 12 misreads snprintf(f->kind, ..., f->link) under -fsanitize
	$(CC) $(CSTD) $(WARN) -Wno-restrict -O1 -g -D_GNU_SOURCE -Iharness $(SAN_FLAGS) \
		-o $(ASAN_BUILD)/probe-asan harness/probe.c harness/names.c harness/rawsig.c
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
STATIC_PROGRAMS := spawnlab probe tiny pdspawn-check pdspawn-check-legacy
# kernel-diff's default: every family but cost (latency under software
# emulation means nothing), SIGCHLD load only at 10 children (emulation runs
# the 10,000-child cases for far too long).  KDIFF_CASES= to choose.
KDIFF_CASES ?= exec fd eintr pidwrap libc 'sigchld/*_10'
KDIFF_FLAGS ?= $(KDIFF_CASES) --timeout 1800
.PHONY: static vm-run vm-run-debian kernel-diff
static:
	$(MAKE) -s BUILD=$(STATIC) LDFLAGS=-static $(addprefix $(STATIC)/,$(STATIC_PROGRAMS))

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

# --- fuzzing (issue 7, issue 9 item 2): fuzz/build.sh builds each target
# three ways into $(BUILD)/fuzz: libFuzzer with ASan+UBSan (NAME), AFL++
# persistent mode when afl-clang-fast is installed (NAME-afl), and an
# engine-less replay build with $(CC) (NAME-replay); plus bare_loop, the
# bare clone3+exit+waitid rate.  fuzz/run.sh runs them (fuzz/README.md):
#   make fuzz-build                   build only
#   make fuzz FUZZ_SECONDS=60         each target on each engine; exec/s,
#                                     findings, next to the bare loop rate
#   make fuzz-smoke                   CI: short libFuzzer runs + seed replay;
#                                     fails on a crash or a finding
#   make fuzz-parallel JOBS=N         AFL++ -M main + N-1 -S, one sync dir
# Fuzzers run in their own pid namespace (unshare, as root) so nothing
# outlives them.
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_TARGETS ?= clone_flags fd_combo case_parse
FUZZ_RUNS    ?= 20000
FUZZ_SECONDS ?= 60
JOBS         ?= 2
FUZZ_ENV     := OUT=$(FUZZ_OUT) FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_RUNS=$(FUZZ_RUNS) \
		FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) SPAWNLAB_PROBE=$(abspath $(BUILD))/probe
.PHONY: fuzz fuzz-build fuzz-smoke fuzz-parallel
fuzz-build: $(BUILD)/probe
	OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-replay CC=$(CC) CFLAGS='-O1 -g' \
	  LIB_FUZZING_ENGINE=fuzz/replay_main.c SUFFIX=-replay fuzz/build.sh
	OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-libfuzzer CC=clang \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' \
	  LIB_FUZZING_ENGINE=-fsanitize=fuzzer fuzz/build.sh
	if command -v afl-clang-fast >/dev/null; then \
	  OUT=$(FUZZ_OUT) WORK=$(FUZZ_OUT)/obj-afl CC=afl-clang-fast CFLAGS='-O1 -g' AFL_QUIET=1 \
	    LIB_FUZZING_ENGINE=fuzz/afl_main.c SUFFIX=-afl fuzz/build.sh; \
	else echo "fuzz: afl-clang-fast not installed (apt-get install afl++): no AFL++ builds"; fi
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $(FUZZ_OUT)/bare_loop fuzz/bare_loop.c

fuzz: fuzz-build
	$(FUZZ_ENV) fuzz/run.sh run

fuzz-smoke: fuzz-build
	$(FUZZ_ENV) SPAWNLAB_FINDINGS=$(abspath $(FUZZ_OUT))/smoke-findings fuzz/run.sh smoke

fuzz-parallel: fuzz-build
	$(FUZZ_ENV) fuzz/run.sh parallel
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
