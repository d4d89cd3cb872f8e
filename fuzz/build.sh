#!/bin/sh
# fuzz/build.sh: builds spawnlab's fuzz targets the OSS-Fuzz way, so that a
# ClusterFuzz-style service can run it unchanged:
#   $CC, $CFLAGS        compiler and flags (sanitizers included by the caller)
#   $LIB_FUZZING_ENGINE what provides main(): "-fsanitize=fuzzer" (libFuzzer,
#                       the default), or an object/source with main()
#                       (fuzz/afl_main.c for AFL++, fuzz/replay_main.c for the
#                       engine-less replay build)
#   $OUT                where the binaries, seed corpora and dictionaries go
#   $WORK               scratch folder for objects (default $OUT/obj)
#   $SUFFIX             appended to each binary's name (e.g. -afl, -replay)
# Targets: clone_flags, fd_combo, case_parse.  The harness sources they use
# are every harness/*.c but the separate programs and the CLI (main.c, cmd_*.c),
# the raw system-call layer (harness/sys) and pdspawn (harness/pdspawn/pdspawn.c).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-clang}
CFLAGS=${CFLAGS:-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:?set OUT}
WORK=${WORK:-$OUT/obj}
SUFFIX=${SUFFIX:-}
VERSION=$(cat "$ROOT/VERSION" 2>/dev/null || echo 0.0.0)
mkdir -p "$OUT" "$WORK"
# -Werror for the fuzz sources only: the harness's own build (make) holds
# its sources to it, and other people's work in progress must not stop ours.
COMMON="-std=gnu11 -Wall -Wextra -Wno-format-nonliteral -D_GNU_SOURCE -I$ROOT/harness -I$ROOT/harness/sys"
COMMON="$COMMON -I$ROOT/harness/pdspawn -I$ROOT/fuzz"
COMMON="$COMMON -DSL_VERSION=\"$VERSION\" -DSL_GITREV=\"fuzz\""

rm -f "$WORK"/lib_*.o
for src in "$ROOT"/harness/*.c "$ROOT"/harness/sys/*.c "$ROOT"/harness/pdspawn/pdspawn.c "$ROOT"/fuzz/fuzz_util.c "$ROOT"/fuzz/model_clone.c "$ROOT"/fuzz/model_fd.c; do
	case "$(basename "$src")" in
	main.c | cmd_*.c | probe.c | tiny.c) continue ;;
	esac
	[ -f "$src" ] && echo "$src"
done | xargs -P "$(nproc)" -I{} sh -c 'w=; case "$1" in */fuzz/*) w=-Werror ;; esac;
	$2 $3 $w $4 -c "$1" -o "$5/lib_$(basename "$1" .c).o"' sh {} "$CC" "$COMMON" "$CFLAGS" "$WORK"
objs=$(ls "$WORK"/lib_*.o)

engine=$LIB_FUZZING_ENGINE
case "$engine" in
*.c)
	$CC $COMMON $CFLAGS -c "$engine" -o "$WORK/engine_main.o"
	engine="$WORK/engine_main.o"
	;;
esac

for t in clone_flags fd_combo case_parse; do
	[ -f "$ROOT/fuzz/$t.c" ] || continue
	$CC $COMMON -Werror $CFLAGS -c "$ROOT/fuzz/$t.c" -o "$WORK/target_$t.o"
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$OUT/$t$SUFFIX" "$WORK/target_$t.o" $objs $engine -lpthread
	[ -f "$ROOT/fuzz/$t.dict" ] && cp "$ROOT/fuzz/$t.dict" "$OUT/$t.dict"
done

# Seed corpora: the committed ones, and for the parser every real case file.
for t in clone_flags fd_combo; do
	mkdir -p "$OUT/seeds/$t"
	[ -d "$ROOT/fuzz/corpus/$t" ] && cp "$ROOT"/fuzz/corpus/"$t"/* "$OUT/seeds/$t/" 2>/dev/null || true
done
mkdir -p "$OUT/seeds/case_parse"
for c in "$ROOT"/cases/*/*.case; do
	cp "$c" "$OUT/seeds/case_parse/$(basename "$(dirname "$c")")-$(basename "$c")"
done
[ -d "$ROOT/fuzz/corpus/case_parse" ] && cp "$ROOT"/fuzz/corpus/case_parse/* "$OUT/seeds/case_parse/" 2>/dev/null || true
exit 0
