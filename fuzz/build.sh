#!/bin/sh
# fuzz/build.sh: builds spawnlab's fuzz targets the OSS-Fuzz way, so that
# OSS-Fuzz and ClusterFuzzLite (fuzz/Dockerfile, fuzz/project.yaml) build
# them unchanged, and `make fuzz-build` too:
#   $CC, $CFLAGS        compiler and flags for the targets (sanitizers and
#                       coverage included by the caller)
#   $LIB_FUZZING_ENGINE what provides main(): "-fsanitize=fuzzer" (libFuzzer,
#                       the default), a library (AFL++'s libAFLDriver.a), or
#                       a source file with main() (fuzz/afl_main.c for AFL++
#                       persistent mode, fuzz/replay_main.c for the
#                       engine-less replay build)
#   $OUT                where binaries, NAME.dict and NAME_seed_corpus.zip go
#   $WORK               scratch folder for objects (default $OUT/obj)
#   $SRC                OSS-Fuzz's source folder: the tree is $SRC/spawnlab
#                       when this script runs from a copy at $SRC/build.sh
#   $SUFFIX             appended to each target's name (e.g. -afl, -replay)
#   $EXEC_CC            compiler for the executor and the observer (default:
#                       cc, gcc or clang, never an AFL wrapper)
#   $FUZZ_BUILD_TARGETS which targets to link (default: all three)
# Targets: clone_flags, fd_combo, case_parse, on every harness source but the
# separate programs and the CLI (main.c, cmd_*.c), with the raw system-call
# layer (harness/sys) and pdspawn (harness/pdspawn/pdspawn.c).  Beside them, built without
# sanitizers or coverage: spawnlab-executor (the process that makes the
# risky calls, executor.h) and spawnlab-observer (what fd_combo's children
# exec), both static where the libc allows; the targets find them beside
# themselves.  Seeds and dictionaries come from fuzz/make_seeds.py, plus
# the committed regression inputs in fuzz/corpus/TARGET/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -d "$here/../harness" ]; then
	ROOT=$(cd "$here/.." && pwd)
else
	ROOT=${SRC:?set SRC (the tree is \$SRC/spawnlab)}/spawnlab
fi
CC=${CC:-clang}
CFLAGS=${CFLAGS:-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:?set OUT}
WORK=${WORK:-$OUT/obj}
SUFFIX=${SUFFIX:-}
VERSION=$(cat "$ROOT/VERSION" 2>/dev/null || echo 0.0.0)
# Debian's python3 first: a version manager's shim (pyenv) costs a second
# a call, and the project runs on Debian's.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3); fi
mkdir -p "$OUT" "$WORK"
# -Werror for the fuzz sources only: the harness's own build (make) holds
# its sources to it, and other people's work in progress must not stop ours.
COMMON="-std=gnu11 -Wall -Wextra -Wno-format-nonliteral -D_GNU_SOURCE -I$ROOT/harness -I$ROOT/fuzz"
COMMON="$COMMON -DSL_VERSION=\"$VERSION\" -DSL_GITREV=\"fuzz\""
HARNESS_LIB() { # the harness library, libspawnlab.a's sources as the Makefile lists
	# them (everything but the command line and the programs), and pdspawn
	make -s --no-print-directory -C "$ROOT" lib-src | tr ' ' '\n' | sed "s|^|$ROOT/|"
	echo "$ROOT/harness/pdspawn/pdspawn.c"
}
# A pipeline hides make's failure: check the list once, loudly.
case "$(make -s --no-print-directory -C "$ROOT" lib-src 2>&1)" in
*harness/sys/sys.c*) ;;
*) echo "build.sh: 'make -C $ROOT lib-src' did not list the harness library (is the Makefile there?)" >&2; exit 1 ;;
esac
# compile_all compiler flags objdir prefix files...: in parallel, and only
# what changed: an object is kept when it is newer than its source and
# every header, and was made with the same compiler, flags and tree (the
# planted-bug benchmark, fuzz/bench.py, patches one file of a copy and
# rebuilds that file alone).
compile_all() {
	cc=$1 flags=$2 dir=$3 prefix=$4
	shift 4
	mkdir -p "$dir"
	flags_stamp="$dir/.${prefix}flags"
	if [ "$(cat "$flags_stamp" 2>/dev/null)" != "$cc $flags" ]; then
		rm -f "$dir/$prefix"*.o
		echo "$cc $flags" >"$flags_stamp"
	fi
	newest_h=$(ls -t "$ROOT"/harness/*/*.h "$ROOT"/harness/*/*/*.h "$ROOT"/fuzz/*.h | head -n 1)
	for src in "$@"; do
		b=${src##*/} o=$dir/$prefix${b%.c}.o
		[ -f "$o" ] && [ "$o" -nt "$src" ] && [ "$o" -nt "$newest_h" ] || echo "$src"
	done | xargs -r -P "$(nproc)" -I{} sh -c 'w=; case "$1" in */fuzz/*) w=-Werror ;; esac; b=${1##*/};
		$2 $3 $w $4 -c "$1" -o "$5/$6${b%.c}.o"' sh {} "$cc" "$COMMON" "$flags" "$dir" "$prefix"
	for src in "$@"; do
		b=${src##*/}
		[ -f "$dir/$prefix${b%.c}.o" ] || { echo "build.sh: $src did not compile" >&2; exit 1; }
	done
}

# ---- the executor and the observer: plain, static, built once per change ----
if [ -z "${EXEC_CC:-}" ]; then
	for c in cc gcc clang; do
		if command -v "$c" >/dev/null; then EXEC_CC=$c && break; fi
	done
fi
EXEC_CC=${EXEC_CC:?no C compiler for the executor}
exe=$OUT/spawnlab-executor obs=$OUT/spawnlab-observer
exec_stamp=$OUT/.executor-built-by
if [ ! -x "$exe" ] || [ ! -x "$obs" ] || [ "$(cat "$exec_stamp" 2>/dev/null)" != "$EXEC_CC" ] ||
	[ -n "$(find "$ROOT/harness" "$ROOT/fuzz" -newer "$exe" \( -name '*.[ch]' -o -name build.sh \) 2>/dev/null | head -n 1)" ]; then
	edir=$WORK/executor
	# Which optional libc functions the libc linked in has (libc_have.h,
	# as the Makefile writes it for harness/sys/libc_ext.c): a static
	# executor cannot look them up at run time, and without the answer
	# posix_spawn with a closefrom action failed with ENOSYS before it
	# spawned anything.  Asked again only when the compiler or the script
	# changed (its 12 test links take a second; a planted build, which
	# changes one source, needs the answer it copied).
	mkdir -p "$edir/gen"
	have=$edir/gen/libc_have.h
	if [ -f "$have" ] && [ "$have" -nt "$ROOT/scripts/libc-have" ] &&
		[ "$(head -n 1 "$have")" = "/* Generated by scripts/libc-have for: $EXEC_CC -static */" ]; then
		:
	elif "$ROOT/scripts/libc-have" "$EXEC_CC" -static >"$edir/gen/libc_have.h.tmp" 2>/dev/null &&
		grep -q SPAWNLAB_LIBC_HAVE_H "$edir/gen/libc_have.h.tmp"; then
		if ! cmp -s "$edir/gen/libc_have.h.tmp" "$edir/gen/libc_have.h"; then
			mv "$edir/gen/libc_have.h.tmp" "$edir/gen/libc_have.h"
			rm -f "$edir/x_libc_ext.o"
		fi
		rm -f "$edir/gen/libc_have.h.tmp"
	fi
	# libc_have.h through CPATH, not a -I flag: the flags are the objects'
	# stamp, and a copy of this build in another folder (fuzz/bench.py's
	# planted builds) must keep its objects.
	saved_cpath=${CPATH-}
	export CPATH="$edir/gen${saved_cpath:+:$saved_cpath}"
	# shellcheck disable=SC2046
	compile_all "$EXEC_CC" "-O2 -g" "$edir" x_ $(HARNESS_LIB) "$ROOT/fuzz/executor.c" "$ROOT/fuzz/exec_clone.c" \
		"$ROOT/fuzz/exec_fd.c" "$ROOT/fuzz/model_clone.c" "$ROOT/fuzz/model_fd.c"
	if [ -n "$saved_cpath" ]; then CPATH=$saved_cpath; else unset CPATH; fi
	# shellcheck disable=SC2086
	$EXEC_CC -static -o "$exe" "$edir"/x_*.o -lpthread 2>/dev/null ||
		$EXEC_CC -o "$exe" "$edir"/x_*.o -lpthread
	case "$($EXEC_CC -dumpmachine)" in
	x86_64*)
		# shellcheck disable=SC2086
		$EXEC_CC $COMMON -Werror -O2 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
			-DSL_OBSERVER_NOLIBC -o "$obs" "$ROOT/fuzz/observer.c"
		;;
	*)
		# shellcheck disable=SC2086
		$EXEC_CC $COMMON -Werror -O2 -static -o "$obs" "$ROOT/fuzz/observer.c" 2>/dev/null ||
			$EXEC_CC $COMMON -Werror -O2 -o "$obs" "$ROOT/fuzz/observer.c"
		;;
	esac
	echo "$EXEC_CC" >"$exec_stamp"
fi

# ---- the targets ----
# shellcheck disable=SC2046
compile_all "$CC" "$CFLAGS" "$WORK" lib_ $(HARNESS_LIB) "$ROOT/fuzz/fuzz_util.c" "$ROOT/fuzz/model_clone.c" \
	"$ROOT/fuzz/model_fd.c" "$ROOT/fuzz/executor_client.c"
objs=$(ls "$WORK"/lib_*.o)
TARGETS=${FUZZ_BUILD_TARGETS:-clone_flags fd_combo case_parse}
engine=$LIB_FUZZING_ENGINE
case "$engine" in
*.c)
	# shellcheck disable=SC2086
	$CC $COMMON $CFLAGS -c "$engine" -o "$WORK/engine_main.o"
	engine="$WORK/engine_main.o"
	;;
esac
for t in $TARGETS; do
	# shellcheck disable=SC2086
	$CC $COMMON -Werror $CFLAGS -c "$ROOT/fuzz/$t.c" -o "$WORK/target_$t.o"
	# shellcheck disable=SC2086
	$CC $CFLAGS -o "$OUT/$t$SUFFIX" "$WORK/target_$t.o" $objs $engine -lpthread
done

# ---- seeds and dictionaries (OSS-Fuzz: NAME_seed_corpus.zip, NAME.dict) ----
# Generated seeds, then the committed regression inputs; for the parser
# every real case file too.
rm -rf "$OUT/seeds"
"$PYTHON" "$ROOT/fuzz/make_seeds.py" --out "$OUT/seeds" --dicts "$OUT" --committed --zips "$OUT"
cp "$ROOT/fuzz/case_parse.dict" "$OUT/case_parse.dict"
# libFuzzer options (fuzz/run.sh lf_options says why)
for t in clone_flags fd_combo; do
	printf '[libfuzzer]\ndetect_leaks = 0\n' >"$OUT/$t.options"
done
exit 0
