#!/bin/sh
# fuzz/run.sh MODE: runs the targets that fuzz/build.sh built into $OUT.
#   run       each target on each engine (libFuzzer; AFL++ when NAME-afl was
#             built) for $FUZZ_SECONDS; before each, the bare
#             clone3+exit+waitid loop (bare_loop) for $BARE_SECONDS, so that
#             every row has its own same-run reference.  Prints a table of
#             executions, exec/s, the ratio to the bare loop, the children
#             the executors made per second and their ratio, and findings.
#             Exit 1 on a crash.
#   smoke     each target on libFuzzer for at most $FUZZ_RUNS inputs or
#             $SMOKE_SECONDS, then a replay of its seeds; exit 1 on a crash
#             or a finding (CI).
#   parallel  AFL++ with $JOBS instances per target (-M main, -S sec<k>),
#             syncing through one folder, for $FUZZ_SECONDS.
# Every fuzzer runs in its own pid namespace (unshare --pid --fork
# --kill-child, as root): when it ends, whatever it started is killed.
# Environment: OUT (required), FUZZ_TARGETS, FUZZ_SECONDS (60), FUZZ_RUNS
# (20000), SMOKE_SECONDS (15), BARE_SECONDS (3), JOBS (2), FUZZ_CPU (the
# last CPU; empty: no pinning), SPAWNLAB_FINDINGS.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:?usage: run.sh run|smoke|parallel}
OUT=${OUT:?set OUT}
TARGETS=${FUZZ_TARGETS:-clone_flags fd_combo case_parse}
SECS=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-20000}
SMOKE=${SMOKE_SECONDS:-15}
JOBS=${JOBS:-2}
BARE=${BARE_SECONDS:-3}
FINDINGS=${SPAWNLAB_FINDINGS:-$ROOT/reports/findings}
export SPAWNLAB_FINDINGS="$FINDINGS"
# afl-fuzz: no UI, no CPU binding (other work shares the machine), and the
# host's core_pattern is not ours to change.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_QUIET=1

# One CPU for each fuzzer and everything it starts (its executor and their
# children), and for the bare loop that is its reference: a wake-up on
# another CPU costs more than the work of a round trip here (the fd_combo
# replay ran 2.6 times faster pinned; the bare loop 1.4 times).  AFL++
# pins itself by default too; FUZZ_CPU= (empty) leaves scheduling alone.
FUZZ_CPU=${FUZZ_CPU-$(($(nproc) - 1))}
PIN=
if [ -n "$FUZZ_CPU" ] && command -v taskset >/dev/null; then
	PIN="taskset -c $FUZZ_CPU"
fi

SANDBOX=
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	# no --mount-proc: the host's /proc keeps NSpid complete, which
	# clone_flags reads for its pid namespace level
	SANDBOX="$PIN unshare --pid --fork --kill-child"
else
	echo "run.sh: not root: fuzzers run without their own pid namespace" >&2
fi
LOGS=$OUT/logs
mkdir -p "$LOGS" "$FINDINGS"

# The executors' counters (executor.h struct exec_stats: requests, calls,
# children, spawns, execs), summed over every stats file in folder $1.
stats_sum() {
	for f in "$1"/exec-*.stats; do
		[ -f "$f" ] && od -An -v -t u8 -w40 "$f"
	done | awk '{ for (i = 1; i <= NF; i++) s[i] += $i } END { printf "%d %d %d %d %d\n", s[1], s[2], s[3], s[4], s[5] }'
}

# findings written since MARK for target T, known ones (fuzz/known-findings)
# left out; known_findings lists those that were found
KNOWN=$(sed -n 's/^\([a-z_]*-[^ #]*\) .*/\1/p' "$ROOT/fuzz/known-findings" 2>/dev/null)
is_known() {
	for k in $KNOWN; do [ "$k" = "$1" ] && return 0; done
	return 1
}
new_findings() {
	n=0
	for f in $(find "$FINDINGS" -maxdepth 1 -name "$1-*.json" -newer "$2" 2>/dev/null); do
		is_known "$(basename "$f" .json)" || n=$((n + 1))
	done
	echo $n
}
known_findings() {
	for f in $(find "$FINDINGS" -maxdepth 1 -name "$1-*.json" -newer "$2" 2>/dev/null); do
		is_known "$(basename "$f" .json)" && basename "$f" .json
	done | sort -u | tr '\n' ' '
}

# libFuzzer options per target: the engine's leak check re-runs an input
# whenever its mallocs and frees differ; it is kept for the parser, whose
# oracle it is, and left out where the calls under test run in the
# executor (not under LeakSanitizer).  build.sh writes the same into
# NAME.options for OSS-Fuzz.
lf_options() {
	case $1 in
	case_parse) ;;
	*) echo -detect_leaks=0 ;;
	esac
}

libfuzzer() { # target seconds runs findings-marker -> "execs exec/s status"
	t=$1
	mkdir -p "$OUT/work/$t"
	# shellcheck disable=SC2086
	timeout -k 5 $(($2 + 60)) $SANDBOX "$OUT/$t" $(lf_options "$t") -max_total_time="$2" -runs="$3" -timeout=10 \
		-print_final_stats=1 -dict="$OUT/$t.dict" "$OUT/work/$t" "$OUT/seeds/$t" >"$LOGS/$t-libfuzzer.log" 2>&1
	rc=$?
	grep -E '^(FINDING|fuzz )' "$LOGS/$t-libfuzzer.log" | sort -u >&2
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t-libfuzzer.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOGS/$t-libfuzzer.log" | tail -n 1)
	st=ok
	[ "$rc" = 0 ] || st="crash(rc=$rc,see $LOGS/$t-libfuzzer.log)"
	echo "${execs:-?} ${rate:-?} $st"
}

afl() { # target seconds -> "execs exec/s status"
	t=$1
	rm -rf "$OUT/afl-$t"
	# shellcheck disable=SC2086
	timeout -k 5 $(($2 + 60)) $SANDBOX afl-fuzz -V "$2" -i "$OUT/seeds/$t" -o "$OUT/afl-$t" \
		-x "$OUT/$t.dict" -- "$OUT/$t-afl" >"$LOGS/$t-afl.log" 2>&1
	rc=$?
	s=$OUT/afl-$t/default/fuzzer_stats
	execs=$(sed -n 's/^execs_done *: *//p' "$s" 2>/dev/null)
	rate=$(sed -n 's/^execs_per_sec *: *//p' "$s" 2>/dev/null)
	crashes=$(sed -n 's/^saved_crashes *: *//p' "$s" 2>/dev/null)
	st=ok
	if [ "$rc" != 0 ]; then
		st="failed(rc=$rc,see $LOGS/$t-afl.log)"
	elif [ "${crashes:-0}" != 0 ]; then
		st="crashes=$crashes(in $OUT/afl-$t/default/crashes)"
	fi
	echo "${execs:-?} ${rate:-?} $st"
}

case $MODE in
run)
	bad=0
	rows=
	for t in $TARGETS; do
		for e in libfuzzer afl; do
			[ $e = afl ] && { [ -x "$OUT/$t-afl" ] && command -v afl-fuzz >/dev/null || continue; }
			mark=$LOGS/.mark-$t-$e
			: >"$mark"
			stats=$OUT/stats-$t-$e
			rm -rf "$stats" && mkdir -p "$stats"
			bare=$($PIN "$OUT/bare_loop" "$BARE" | sed -n 's/^bare clone3+exit+waitid: \([0-9]*\)\/s.*/\1/p')
			echo "== $t: $e ${SECS}s (bare loop just before: ${bare:-?}/s; load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
			export SPAWNLAB_FUZZ_STATS="$stats"
			if [ $e = libfuzzer ]; then r=$(libfuzzer "$t" "$SECS" -1); else r=$(afl "$t" "$SECS"); fi
			unset SPAWNLAB_FUZZ_STATS
			# shellcheck disable=SC2086 # the three words of the result, then the counters
			set -- $r $(stats_sum "$stats")
			case $3 in ok) ;; *) bad=1 ;; esac
			# $1 execs $2 exec/s; the counters: $4 requests $5 calls $6 children
			# (clone mode) $7 spawns (fd mode) $8 execs
			row=$(awk -v n="$1" -v r="$2" -v b="${bare:-0}" -v k="$(($6 + $7))" -v s="$SECS" 'BEGIN {
				ratio = (b > 0 && r + 0 > 0) ? sprintf("%.0f%%", 100 * r / b) : "?"
				cps = (s > 0) ? k / s : 0
				cr = (b > 0) ? sprintf("%.0f%%", 100 * cps / b) : "?"
				per = (n + 0 > 0) ? sprintf("%.2f", k / n) : "?"
				printf "%10s %9.0f %6s %8s %10.0f %6s %9s", n, r, ratio, b, cps, cr, per }')
			kn=$(known_findings "$t" "$mark")
			rows="$rows$(printf '%-12s %-10s %s %8s  %s%s' "$t" "$e" "$row" "$(new_findings "$t" "$mark")" "$3" \
				"${kn:+ (known: $kn)}")
"
		done
	done
	echo "== ${SECS}s per target and engine; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "   ratio: exec/s over the bare clone3+exit+waitid loop's rate measured just before the row;"
	echo "   children/s: processes the executors created (clone children and spawned observers) per second of the run; child/in: per input"
	printf '%-12s %-10s %10s %9s %6s %8s %10s %6s %9s %8s  %s\n' target engine execs exec/s ratio bare/s \
		children/s ratio child/in new-find status
	printf '%s' "$rows"
	echo "findings (JSON + reproducers): $FINDINGS"
	exit $bad
	;;
smoke)
	bad=0
	for t in $TARGETS; do
		mark=$LOGS/.mark-$t-smoke
		: >"$mark"
		echo "== $t: libFuzzer, at most $RUNS inputs or ${SMOKE}s"
		# shellcheck disable=SC2046 # the three words of the result
		set -- $(libfuzzer "$t" "$SMOKE" "$RUNS")
		n=$(new_findings "$t" "$mark")
		kn=$(known_findings "$t" "$mark")
		echo "$t: $1 executions, $2 exec/s, $n new findings, $3${kn:+; known findings (fuzz/known-findings): $kn}"
		[ "$3" = ok ] && [ "$n" = 0 ] || bad=1
		echo "== $t: replay of the seeds"
		"$OUT/$t-replay" "$OUT/seeds/$t" || bad=1
	done
	exit $bad
	;;
parallel)
	command -v afl-fuzz >/dev/null || { echo "run.sh: afl-fuzz not installed (apt-get install afl++)" >&2; exit 1; }
	for t in $TARGETS; do
		[ -x "$OUT/$t-afl" ] || continue
		sync=$OUT/afl-parallel-$t
		rm -rf "$sync"
		echo "== $t: AFL++ x$JOBS (-M main, -S sec1..) ${SECS}s, sync dir $sync"
		# One pid namespace for the whole campaign: its init is this sh;
		# when it returns, the kernel kills every instance left.  Not
		# pinned to one CPU: each instance binds itself to a free one
		# (AFL++'s default, so AFL_NO_AFFINITY is dropped here).
		# shellcheck disable=SC2016,SC2086
		timeout -k 5 $((SECS + 90)) env -u AFL_NO_AFFINITY ${SANDBOX#"$PIN "} sh -c '
			t=$1 secs=$2 jobs=$3 out=$4 sync=$5
			afl-fuzz -M main -V "$secs" -i "$out/seeds/$t" -o "$sync" -x "$out/$t.dict" -- "$out/$t-afl" \
				>"$out/logs/$t-par-main.log" 2>&1 &
			k=1
			while [ "$k" -lt "$jobs" ]; do
				afl-fuzz -S "sec$k" -V "$secs" -i "$out/seeds/$t" -o "$sync" -x "$out/$t.dict" -- "$out/$t-afl" \
					>"$out/logs/$t-par-sec$k.log" 2>&1 &
				k=$((k + 1))
			done
			wait' sh "$t" "$SECS" "$JOBS" "$OUT" "$sync"
		total=0
		for s in "$sync"/*/fuzzer_stats; do
			[ -f "$s" ] || continue
			n=$(sed -n 's/^execs_done *: *//p' "$s")
			r=$(sed -n 's/^execs_per_sec *: *//p' "$s")
			c=$(sed -n 's/^saved_crashes *: *//p' "$s")
			echo "$t $(basename "$(dirname "$s")"): $n executions, $r exec/s, $c crashes"
			total=$((total + n))
		done
		echo "$t: $total executions in all instances"
	done
	;;
*)
	echo "usage: run.sh run|smoke|parallel" >&2
	exit 2
	;;
esac
