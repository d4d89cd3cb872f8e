"""scripts/diff A.json B.json: what changed from result A (the reference, e.g.
the previous kernel or a baseline) to result B."""
import argparse
import fnmatch
import os
import json
import sys

from . import result as R

BAD = ("fail", "error")
# Measured on this machine (two default-suite runs minutes apart, 2 cores,
# other work running): these numbers move by 2x to 30x between identical
# runs, so they are not compared unless --all-numbers:
#  - single samples and tail statistics of timings;
#  - the incidental timings of the semantic experiments: how long a blocked
#    call took before the signal (eintr elapsed_us, stopped_us, rem_ms),
#    phase durations (*_ms, pidwrap ms), SIGCHLD delivery delays (delay_*);
#  - SIGCHLD coalescing counts: how many exits shared a signal depends on
#    scheduling (signal(7): standard signals do not queue); the guaranteed
#    facts (every child reaped, none left) are expectations, i.e. outcomes;
#  - where the SIGCHLD parent was while its children exited (exits in each
#    phase, the exits' spread, how often it looked, /proc samples of its
#    state): a picture of one run's scheduling, not a property of the kernel;
#  - the signal storm of libc/handler_never_in_child: signals sent and
#    handled in the parent depend on scheduling.
DEFAULT_IGNORE = ("num.spawn_us", "num.*_max_us", "num.*_p99_us", "num.*_iqr_us", "num.*_mean_us",
                  "num.elapsed_us", "num.stopped_us", "num.rem_ms", "num.*_ms", "num.ms", "num.delay_*",
                  "num.notifications", "num.notifications_naive", "num.wakeups", "num.distinct_pids",
                  "num.named_ours", "num.zombies_naive", "num.reaped_naive", "num.sigchld_handled",
                  "num.pidfd_early", "num.signals_sent", "num.handler_in_parent",
                  "num.exits_in_*", "num.exits_before_first_note", "num.exit_spread_us", "num.looks",
                  "num.samples", "num.samples_*", "num.notifications_late")
# Timing medians and minima (cost, bench), their ratios to the floor, and the
# race leak counts (and the storm's kills and handler runs in children) are
# compared with their own, wider band: a symmetric
# factor (larger/smaller - 1, in %), since a spawn that got 5x slower or a
# leak rate 5x higher is what a kernel change shows, and 2x is run-to-run
# noise here.
TIMING_KEYS = ("num.*_median_us", "num.*_min_us", "num.ratio_*", "num.leaky_children", "num.leaked_fds",
               "num.leak_rate_ppm", "num.helper_fds", "num.children_killed", "num.handler_in_child")
ENV_FIELDS = [
    ("kernel release", lambda d: d["environment"]["kernel"]["release"]),
    ("kernel version", lambda d: d["environment"]["kernel"]["version"]),
    ("libc", lambda d: f'{d["environment"]["libc"]["name"]} {d["environment"]["libc"]["version"]}'),
    ("arch", lambda d: d["environment"]["arch"]),
    ("spawnlab", lambda d: f'{d["environment"]["spawnlab_version"]} ({d["environment"]["spawnlab_revision"]})'),
    ("sandbox", lambda d: d["environment"]["privileges"]["sandbox"]),
    ("complete", lambda d: str(d["complete"]).lower()),
]


def build_of(doc):
    """The build identity of a result: what decides which libc code runs.
    None for results written before environment.build existed."""
    b = doc["environment"].get("build")
    if b is None:
        return None
    return {"linkage": b["linkage"], "libc": b["libc"],
            **{f"libc function {k}": v for k, v in sorted(b["libc_functions"].items())}}


def build_differences(a, b):
    """[(field, A's value, B's value)] where the two builds differ; a
    result without build information differs from every build."""
    ba, bb = build_of(a), build_of(b)
    if ba is None or bb is None:
        if ba == bb:
            return [("build", "not recorded", "not recorded")]
        return [("build", "not recorded" if ba is None else "recorded",
                 "not recorded" if bb is None else "recorded")]
    # A libc function one result does not report (an older spawnlab knew
    # fewer) is not a difference; linkage and libc always are.
    return [(k, ba[k], bb[k]) for k in ba if k in bb and ba[k] != bb[k]]


def _kind(a, b):
    """How a unit's outcome changed; a=None or b=None: new or removed."""
    if a is None:
        return "new"
    if b is None:
        return "removed"
    if b in BAD and a not in BAD:
        return f"{a} to {b}"
    # xfail: a known finding reproduced (not a regression, even from pass or
    # fail); xpass: the finding is gone, a change to look at.
    if b == "xpass":
        return f"{a} to xpass (known finding no longer reproduces)"
    if b == "xfail":
        return f"{a} to xfail (known finding reproduced)"
    if a in BAD and b == "pass":
        return "fixed"
    if b == "skip":
        return "newly skipped"
    return f"{a} to {b}"


def _matches(key, globs):
    return any(fnmatch.fnmatchcase(key, g) or fnmatch.fnmatchcase("num." + key, g) for g in globs)


def _moved(va, vb, noise, floor, timing_noise, timing):
    """(moved beyond its band?, relative change in %, or None from 0)."""
    delta = vb - va
    if abs(delta) <= floor:
        return False, 0.0
    if va == 0:
        return vb != 0, None if vb != 0 else 0.0
    pct = delta / abs(va) * 100
    if timing:
        lo, hi = sorted((abs(va), abs(vb)))
        return (hi / lo - 1) * 100 > timing_noise if lo else True, pct
    return abs(pct) > noise, pct


def _unstable(key, nums):
    """A median whose spread (its unit's IQR) exceeds the median itself: on
    a loaded machine half the samples wait for a CPU and the median flips
    between the two modes from run to run, so it is not compared."""
    if not key.endswith("_median_us"):
        return False
    iqr = nums.get(key[:-len("_median_us")] + "_iqr_us")
    return iqr is not None and iqr > nums[key]


def compare(a, b, noise=20.0, floor=0.0, ignore=(), strict=False, timing_noise=400.0, timing_keys=TIMING_KEYS):
    """The differences as a dict (the JSON output)."""
    env = [{"field": name, "a": get(a), "b": get(b)} for name, get in ENV_FIELDS if get(a) != get(b)]
    # A kernel comparison means something only between results of one build:
    # otherwise libc lookups and linkage differ too, and every difference
    # below may be the build's.
    build = build_differences(a, b)
    kernel_changed = a["environment"]["kernel"]["release"] != b["environment"]["kernel"]["release"]
    env += [{"field": f"build {k}", "a": va, "b": vb} for k, va, vb in build if va != vb]
    fa = {f["name"]: f["state"] for f in a["environment"]["features"]}
    fb = {f["name"]: f["state"] for f in b["environment"]["features"]}
    for n in sorted(set(fa) | set(fb)):
        if fa.get(n) != fb.get(n):
            env.append({"field": f"feature {n}", "a": fa.get(n), "b": fb.get(n)})
    ba = {x["name"]: x["available"] for x in a["environment"]["backends"]}
    bb = {x["name"]: x["available"] for x in b["environment"]["backends"]}
    for n in sorted(set(ba) | set(bb)):
        if ba.get(n) != bb.get(n):
            show = {True: "available", False: "unavailable", None: None}
            env.append({"field": f"backend {n}", "a": show[ba.get(n)], "b": show[bb.get(n)]})

    ca = {c["id"]: c for c in a["cases"]}
    cb = {c["id"]: c for c in b["cases"]}
    added = [i for i in cb if i not in ca]
    removed = [i for i in ca if i not in cb]
    outcomes, numbers, unstable, findings = [], [], [], []
    # Units of removed cases are covered by cases_removed; of new cases only
    # those that fail or break are listed (they regress).
    for cid in [i for i in ca if i in cb] + added:
        ua = {u["backend"]: u for u in ca[cid]["backends"]} if cid in ca else {}
        ub = {u["backend"]: u for u in cb[cid]["backends"]}
        for be in list(ua) + [x for x in ub if x not in ua]:
            # A slim baseline leaves out the units skipped only because the
            # case names other backends (scripts/slim).
            if (be not in ua and a.get("slim") and not R.applies(ub[be])) or \
                    (be not in ub and b.get("slim") and not R.applies(ua[be])):
                continue
            oa = ua[be]["outcome"] if be in ua else None
            ob = ub[be]["outcome"] if be in ub else None
            if oa != ob and (cid in ca or ob in BAD or ob == "xpass"):
                kind = _kind(oa, ob)
                regressed = (ob in BAD and oa not in BAD) or \
                    (strict and (kind == "removed" or (kind == "newly skipped" and oa == "pass")))
                outcomes.append({"case": cid, "backend": be, "a": oa, "b": ob, "change": kind,
                                 "regression": regressed, "reason": ub[be]["reason"] if be in ub else None,
                                 "touches": R.case_refs(cb[cid])})
            if be in ua and be in ub:
                # A known finding whose observed value moved is a change even
                # when the outcome did not (a glob or an inequality can hold
                # for both values).
                fa_ = {f["key"]: f for f in ua[be]["findings"]}
                for f in ub[be]["findings"]:
                    g = fa_.get(f["key"])
                    if g is None or g["actual"] != f["actual"] or g["holds"] != f["holds"]:
                        findings.append({"case": cid, "backend": be, "key": f["key"],
                                         "a": g["actual"] if g else None, "b": f["actual"],
                                         "finding": f["expected"], "holds_a": g["holds"] if g else None,
                                         "holds_b": f["holds"], "touches": R.case_refs(cb[cid])})
                na, nb = ua[be]["numbers"], ub[be]["numbers"]
                for k in na:
                    if k not in nb or _matches(k, ignore):
                        continue
                    if na[k] != nb[k] and (_unstable(k, na) or _unstable(k, nb)):
                        unstable.append({"case": cid, "backend": be, "key": "num." + k})
                        continue
                    va, vb = na[k], nb[k]
                    moved, pct = _moved(va, vb, noise, floor, timing_noise, _matches(k, timing_keys))
                    if moved:
                        numbers.append({"case": cid, "backend": be, "key": "num." + k, "a": va, "b": vb,
                                        "change_pct": None if pct is None else round(pct, 1)})
    return {"a": {"kernel": a["environment"]["kernel"]["release"],
                  "libc": f'{a["environment"]["libc"]["name"]} {a["environment"]["libc"]["version"]}',
                  "start_time": a["run"]["start_time"]},
            "b": {"kernel": b["environment"]["kernel"]["release"],
                  "libc": f'{b["environment"]["libc"]["name"]} {b["environment"]["libc"]["version"]}',
                  "start_time": b["run"]["start_time"]},
            "noise_pct": noise, "timing_noise_pct": timing_noise, "timing_keys": list(timing_keys),
            "floor": floor, "ignore": list(ignore), "strict": strict,
            "environment": env, "cases_added": added, "cases_removed": removed,
            "outcomes": outcomes, "findings": findings, "numbers": numbers, "unstable": unstable,
            "build_differs": bool(build), "kernel_changed": kernel_changed,
            "mixed_causes": bool(build) and kernel_changed,
            "regressions": sum(1 for o in outcomes if o["regression"]) + (len(removed) if strict else 0)}


def _pct(n):
    return "new from 0" if n["change_pct"] is None else f'{n["change_pct"]:+.1f}%'


def text(d, md=False):
    out = []
    h = (lambda s: out.append(f"\n## {s}\n")) if md else (lambda s: out.append(f"\n{s}:"))
    item = (lambda s: out.append(f"- {s}")) if md else (lambda s: out.append(f"  {s}"))
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out.append(("# " if md else "") + f'spawnlab diff: A {d["a"]["kernel"]}, {d["a"]["libc"]} ({d["a"]["start_time"]})'
               f' -> B {d["b"]["kernel"]}, {d["b"]["libc"]} ({d["b"]["start_time"]})')
    if d["mixed_causes"]:
        out.append(("**" if md else "") + "WARNING: the kernels AND the builds differ" + ("**" if md else "") +
                   " (see `build` below): a difference may come from the build (linkage, libc, how libc "
                   "functions are found), not the kernel. Compare one build on both kernels "
                   "(make kernel-diff does; scripts/diff --same-build insists).")
    if d["environment"]:
        h("environment")
        for e in d["environment"]:
            item(f'{e["field"]}: {e["a"]} -> {e["b"]}')
    if d["outcomes"]:
        h("outcomes")
        for o in d["outcomes"]:
            tag = "REGRESSION " if o["regression"] else ""
            why = f': {o["reason"]}' if o["reason"] and o["b"] != "pass" else ""
            item(f'{tag}{code(o["case"])} {o["backend"]}: {o["change"]}{why}')
        touched = sorted({r for o in d["outcomes"] for r in o["touches"]})
        if touched:
            item("the documentation these changes touch: " + ", ".join(code(r) for r in touched))
    if d["findings"]:
        h("known findings whose observed value changed")
        for f in d["findings"]:
            was = "not judged" if f["a"] is None else f'{f["a"]} ({"as" if f["holds_a"] else "not as"} the finding records)'
            item(f'{code(f["case"])} {f["backend"]} {f["key"]}: {was} -> {f["b"]} '
                 f'({"as" if f["holds_b"] else "not as"} the finding records: {f["finding"]})')
    if d["cases_added"] or d["cases_removed"]:
        h("cases")
        for i in d["cases_added"]:
            item(f"new: {code(i)}")
        for i in d["cases_removed"]:
            item(f"removed: {code(i)}")
    if d["numbers"]:
        h(f'numbers beyond the noise band (±{d["noise_pct"]:g}%; timings and leak counts: '
          f'a factor of {1 + d["timing_noise_pct"] / 100:g}; floor {d["floor"]:g})')
        if md:
            out.append("| case | backend | number | A | B | change |\n| --- | --- | --- | ---: | ---: | ---: |")
            for n in d["numbers"]:
                out.append(f'| `{n["case"]}` | {n["backend"]} | {n["key"]} | {R.fmt_number(n["a"])} | '
                           f'{R.fmt_number(n["b"])} | {_pct(n)} |')
        else:
            for n in d["numbers"]:
                item(f'{n["case"]} {n["backend"]} {n["key"]}: {R.fmt_number(n["a"])} -> '
                     f'{R.fmt_number(n["b"])} ({_pct(n)})')
    if d["unstable"]:
        h("not compared")
        item(f'{len(d["unstable"])} median{"s" if len(d["unstable"]) != 1 else ""} whose IQR exceeds the '
             "median in A or B (a loaded machine): " +
             ", ".join(f'{u["case"]} {u["backend"]} {u["key"]}' for u in d["unstable"]))
    if not (d["environment"] or d["outcomes"] or d["findings"] or d["cases_added"] or d["cases_removed"] or
            d["numbers"]):
        out.append("" if not md else "")
        out.append("no differences beyond the noise band")
    out.append("")
    out.append(f'{"**" if md else ""}{d["regressions"]} regression{"s" if d["regressions"] != 1 else ""}'
               f'{"**" if md else ""}')
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="diff",
        description="Compare spawnlab result A (reference: baseline, previous kernel or libc) with "
                    "result B: environment differences, outcome changes per case and backend, new "
                    "and removed cases, numbers that moved beyond the noise band.",
        epilog="Exit status: 0 nothing regressed, 1 a unit that did not fail or break in A fails or "
               "breaks in B (with --strict also: a case removed, or pass to skip), 2 bad input.")
    ap.add_argument("a", help="reference result.json (or a run folder)")
    ap.add_argument("b", help="new result.json (or a run folder)")
    ap.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    ap.add_argument("--noise", type=float, default=20.0, metavar="PCT",
                    help="report a number only when it moved by more than PCT%% (default %(default)g)")
    ap.add_argument("--timing-noise", type=float, default=400.0, metavar="PCT",
                    help="the band of timing medians and minima, ratios to the floor and race leak "
                         f"counts ({' '.join(TIMING_KEYS)}): report when the larger value exceeds the "
                         "smaller by more than PCT%% (default %(default)g: a factor of 5)")
    ap.add_argument("--floor", type=float, default=0.0, metavar="ABS",
                    help="... and by more than ABS in its own unit (default %(default)g)")
    ap.add_argument("--ignore", action="append", default=[], metavar="GLOB",
                    help="number keys not to compare, besides the default "
                         f"{' '.join(DEFAULT_IGNORE)} (timing-dependent: they move 2x to 30x "
                         "between identical runs); repeatable")
    ap.add_argument("--all-numbers", action="store_true",
                    help="compare every number (drop the default ignore list)")
    ap.add_argument("--strict", action="store_true",
                    help="count removed cases and pass-to-skip as regressions")
    ap.add_argument("--same-build", action="store_true",
                    help="refuse (exit 2) unless A and B ran the same build (environment.build: linkage, "
                         "libc, how each libc function is found), so that a kernel diff shows the "
                         "kernel's changes and nothing else")
    args = ap.parse_args(argv)
    docs = []
    try:
        for p in (args.a, args.b):
            path = os.path.join(p, "result.json") if os.path.isdir(p) else p
            docs.append(R.load(path))
    except R.InputError as e:
        print(f"diff: {e}", file=sys.stderr)
        return 2
    if args.same_build:
        diffs = build_differences(*docs)
        if diffs:
            print("diff: --same-build: A and B are not the same build: " +
                  "; ".join(f"{k} {va} -> {vb}" for k, va, vb in diffs), file=sys.stderr)
            return 2
    ignore = args.ignore + ([] if args.all_numbers else list(DEFAULT_IGNORE))
    d = compare(*docs, noise=args.noise, floor=args.floor, ignore=ignore, strict=args.strict,
                timing_noise=args.timing_noise)
    if args.format == "json":
        print(json.dumps(d, indent=1))
    else:
        sys.stdout.write(text(d, md=args.format == "markdown"))
    return 1 if d["regressions"] else 0
