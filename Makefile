# spawnlab: `make` builds into $(BUILD); `make run` runs every case;
# `make test` runs the pytest suite against the real binaries.
BUILD   ?= build
CC      ?= cc
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
SL_CFLAGS := $(CSTD) $(WARN) $(OPT) -D_GNU_SOURCE -Iharness $(CFLAGS)
PYTHON  := /usr/bin/python3
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The driver: every harness source but the separate programs.
PROGRAMS   := harness/probe.c harness/pdspawn_check.c harness/tiny.c
DRIVER_SRC := $(filter-out $(PROGRAMS),$(wildcard harness/*.c))
DRIVER_OBJ := $(DRIVER_SRC:harness/%.c=$(BUILD)/obj/%.o)
HEADERS    := $(wildcard harness/*.h)

.PHONY: all run test deps clean bench
all: $(BUILD)/spawnlab $(BUILD)/probe $(BUILD)/pdspawn-check $(BUILD)/tiny $(BUILD)/tiny-dyn

$(BUILD)/obj/%.o: harness/%.c $(HEADERS) Makefile VERSION
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -DSL_VERSION='"$(VERSION)"' -DSL_GITREV='"$(GITREV)"' -c $< -o $@

$(BUILD)/spawnlab: $(DRIVER_OBJ)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $(DRIVER_OBJ) -lpthread

# The probe is static so that exec'ing it opens nothing (no ld.so) and it
# observes only what crossed exec.  Falls back to dynamic without libc.a.
$(BUILD)/probe: harness/probe.c harness/names.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ harness/probe.c harness/names.c 2>/dev/null || \
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ harness/probe.c harness/names.c

# The benchmark's child, static and dynamic (experiment_bench.c).
$(BUILD)/tiny: harness/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -static -o $@ $< 2>/dev/null || $(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/tiny-dyn: harness/tiny.c Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) -o $@ $<

$(BUILD)/pdspawn-check: harness/pdspawn_check.c harness/pdspawn.c harness/sys.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	$(CC) $(SL_CFLAGS) $(LDFLAGS) -o $@ harness/pdspawn_check.c harness/pdspawn.c harness/sys.c

# Debian packages the tests need; installed with apt-get as root, else the
# exact command is printed.
TEST_DEBS := python3-pytest python3-jsonschema
deps:
	@scripts/ensure-debs $(TEST_DEBS)

run: all
	$(BUILD)/spawnlab run --probe $(BUILD)/probe $(RUNFLAGS)

test: all deps
	SPAWNLAB_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests $(PYTEST_FLAGS)

# Spawn cost per backend against parent size, with the vfork+execve floor
# (cases/bench, run only when named).  Prints the table; numbers go to
# result.json.
bench: all
	$(BUILD)/spawnlab bench --probe $(BUILD)/probe $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)
