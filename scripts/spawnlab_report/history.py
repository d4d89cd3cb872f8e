"""scripts/history RESULT...: several results side by side, one column per
kernel and one per libc, and what changed between them.

Two series are read out of the results:
  - kernels: one build (environment.build) on several kernels.  Only then is
    a difference the kernel's: results of different builds are refused from
    this series (a static and a dynamic build find libc functions
    differently, and that must not read as a kernel change);
  - libcs: several builds on one kernel (glibc and musl versions).
A result may be in both (the host's own kernel and libc).  Within a series
the columns are ordered by version; a value "changed in" a column when it
differs from the column before it (for the first musl column: from the
series' reference, the column the two series share).

Compared, keyed by case id, backend and key, never by position: features,
backend availability, each unit's outcome, each expectation (met, or what
was seen instead) and each number (with scripts/diff's noise bands).  Fields
it does not know are ignored."""
import argparse
import html
import json
import os
import re
import sys
from pathlib import Path

from . import diff as D
from . import result as R

HERE = Path(__file__).resolve().parent


class Column:
    def __init__(self, path, doc):
        self.path, self.doc = path, doc
        env = doc["environment"]
        self.release = env["kernel"]["release"]
        self.libc_name = env["libc"]["name"]
        self.libc_version = env["libc"]["version"]
        col = doc.get("column") or {}
        self.meta = col
        self.build = D.build_of(doc)
        # Linkage and libc name the build; libc functions are checked
        # pairwise (classify), since an older result may report fewer.
        self.build_key = (f"{self.build['linkage']} {self.build['libc']}" if self.build
                          else f"unrecorded:{path}")
        self.series = set(col.get("series", []))
        self.items = None

    @property
    def kernel_label(self):
        m = re.match(r"(\d+\.\d+)", self.release)
        return "linux " + (m.group(1) if m else self.release)

    @property
    def libc_label(self):
        return f"{self.libc_name} {self.libc_version.split('-')[0]}"

    def label(self, series):
        return self.kernel_label if series == "kernel" else self.libc_label

    @property
    def where(self):
        return self.meta.get("where") or "host"

    @property
    def accel(self):
        return self.meta.get("accel")


def version_key(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:4])


# ---- classification ----------------------------------------------------

def classify(cols, allow_mixed=False):
    """(kernel columns, libc columns), each in version order.  Raises
    InputError when a kernel series would mix builds, or two results are
    the same build on the same kernel."""
    seen = {}
    for c in cols:
        k = (c.build_key, c.release)
        if k in seen:
            raise R.InputError(f"{c.path} and {seen[k].path}: the same build on the same kernel "
                               f"({c.release}, {c.libc_label}); give one of them")
        seen[k] = c
    declared = any(c.series for c in cols)
    if declared:
        kern = [c for c in cols if "kernel" in c.series]
        libc = [c for c in cols if "libc" in c.series]
    else:
        by_build, by_kernel = {}, {}
        for c in cols:
            by_build.setdefault(c.build_key, []).append(c)
            by_kernel.setdefault(c.release, []).append(c)
        kern = max(by_build.values(), key=len)
        kern = kern if len(kern) > 1 else []
        libc = max(by_kernel.values(), key=len)
        libc = libc if len(libc) > 1 else []
    builds = {c.build_key for c in kern}
    mixed = len(builds) > 1 or any(D.build_differences(a.doc, b.doc) for a in kern for b in kern if a is not b)
    if mixed and not allow_mixed:
        detail = "; ".join(f"{c.path}: {c.build or 'build not recorded'}" for c in kern)
        raise R.InputError("the kernel columns are not one build, so a difference between them could be the "
                           f"build's, not the kernel's ({detail}); run one static build on every kernel "
                           "(make matrix does), or --allow-mixed-builds to mark them")
    if len({c.release for c in libc}) > 1 and not allow_mixed:
        raise R.InputError("the libc columns ran on different kernels: " +
                           ", ".join(f"{c.path}: {c.release}" for c in libc))
    kern.sort(key=lambda c: version_key(c.release))
    libc.sort(key=lambda c: (c.libc_name != "glibc", c.libc_name, version_key(c.libc_version)))
    return kern, libc


# ---- what is compared ----------------------------------------------------

def _num_ignored(key):
    return D._matches(key, D.DEFAULT_IGNORE)


def items(doc):
    """{key: (value, note)} for one result.  Keys: ("feature", name),
    ("backend", name), ("outcome", case, backend), ("expect", case,
    backend, line, key, op), ("number", case, backend, key)."""
    out = {}
    env = doc["environment"]
    for f in env["features"]:
        out[("feature", f["name"])] = (f["state"], f.get("detail") or "")
    for b in env["backends"]:
        out[("backend", b["name"])] = ("available" if b["available"] else "unavailable", b.get("reason") or "")
    for c in doc["cases"]:
        for u in c["backends"]:
            if not R.applies(u):
                continue
            be = u["backend"]
            out[("outcome", c["id"], be)] = (u["outcome"], u.get("reason") or "")
            for e in u.get("expectations") or []:
                # Met, or what was seen instead: an expected value made from a
                # $variable (a pid, a path) differs from run to run, a verdict not.
                v = "met" if e["ok"] else f"saw {e['actual']!r}"
                out[("expect", c["id"], be, e["line"], e["key"], e["op"])] = (v, f"{e['key']} {e['op']} {e['expected']}")
            for k, v in (u.get("numbers") or {}).items():
                if isinstance(v, (int, float)) and not _num_ignored(k):
                    out[("number", c["id"], be, k)] = (v, "")
    return out


def _differs(key, a, b, timings):
    if key[0] != "number":
        return a != b
    k = key[3]
    timing = D._matches(k, D.TIMING_KEYS)
    if timing and not timings:
        return False
    return D._moved(a, b, 20.0, 0.0, 400.0, timing)[0]


class Series:
    """Columns in order and, for each, the column it is compared with."""

    def __init__(self, name, cols, reference=None):
        self.name, self.cols = name, cols
        self.labels = [c.label(name) for c in cols]
        # Timings of VMs under software emulation and of the host are not
        # comparable; they are left out when the series mixes them.
        self.timings = len({(c.where, c.accel) for c in cols}) <= 1
        self.prev = {}
        for i, c in enumerate(cols):
            if name == "kernel":
                self.prev[id(c)] = cols[:i][::-1]
            else:
                same = [p for p in cols[:i][::-1] if p.libc_name == c.libc_name]
                # The first column of another libc is compared with the
                # reference (the host's libc), the first of its own with nothing.
                other = reference is not None and reference in cols and reference.libc_name != c.libc_name
                self.prev[id(c)] = same or ([reference] if other else [])

    def compare(self):
        keys = []
        seen = set()
        for c in self.cols:
            for k in c.items:
                if k not in seen:
                    seen.add(k)
                    keys.append(k)
        rows, same = [], {}
        for k in keys:
            present = [c for c in self.cols if k in c.items]
            if len(present) < 2:
                continue
            changed = []
            for c in present:
                ref = next((p for p in self.prev[id(c)] if k in p.items), None)
                if ref is not None and _differs(k, ref.items[k][0], c.items[k][0], self.timings):
                    changed.append((c, ref))
            if changed:
                rows.append(Row(k, self, changed))
            else:
                same[k[0]] = same.get(k[0], 0) + 1
        return rows, same


KIND_WORD = {"feature": "feature", "backend": "backend", "outcome": "outcome", "expect": "expectation",
             "number": "number"}


class Row:
    def __init__(self, key, series, changed):
        self.key, self.kind = key, key[0]
        self.series = series
        self.changed = changed  # [(column, the column it was compared with)]
        self.case = key[1] if self.kind in ("outcome", "expect", "number") else None
        self.backend = key[2] if self.case else None
        self.cells = []
        for c in series.cols:
            v = c.items.get(key)
            if v is None:
                self.cells.append({"text": "—", "cls": "absent", "title": "not run in this column"})
            else:
                self.cells.append({"text": fmt(v[0]), "cls": css(self.kind, v[0]), "title": v[1]})

    @property
    def what(self):
        k = self.key
        if self.kind in ("feature", "backend"):
            return k[1]
        if self.kind == "outcome":
            return ""
        if self.kind == "expect":
            note = self.series.cols[0].items.get(k) or next(c.items[k] for c in self.series.cols if k in c.items)
            return f"line {k[3]}: {note[1]}"
        return "num." + k[3]

    @property
    def first(self):
        return self.changed[0][0].label(self.series.name)

    @property
    def changed_in(self):
        return [c.label(self.series.name) for c, _ in self.changed]

    def change_at(self, col):
        for c, ref in self.changed:
            if c is col:
                return ref.label(self.series.name), fmt(ref.items[self.key][0]), fmt(c.items[self.key][0]), \
                    c.items[self.key][1], ref.items[self.key][1]
        return None


def fmt(v):
    return R.fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def css(kind, v):
    if kind == "outcome":
        return v
    if kind == "feature":
        return {"yes": "pass", "no": "skip"}.get(v, "absent")
    if kind == "backend":
        return "pass" if v == "available" else "skip"
    if kind == "expect":
        return "pass" if v == "met" else "fail"
    return "num"


# Order of interest within a version's changes: what a maintainer reads first.
KIND_ORDER = {"feature": 0, "backend": 1, "outcome": 2, "expect": 3, "number": 4}


GROUP_AT = 4  # changes that went the same way: one line from this many


def _group(r, ch):
    """Changes alike enough for one line: outcomes with the same from and to
    (a feature appearing: skip to pass, for each backend); numbers and
    expectations of one key with the same from and to, over cases and
    backends (a pid-reuse method changing: fillers 0 to 398)."""
    if r.kind == "outcome":
        return ("outcome", "", ch[1], ch[2])
    if r.kind in ("number", "expect"):
        return (r.kind, r.what if r.kind == "number" else r.what.split(": ", 1)[-1], ch[1], ch[2])
    return None


def _lines_of_group(g, members, order):
    """One line per set of backends for outcomes (cases whose same backends
    changed alike), one line for a number or expectation key."""
    kind, what, old, new = g

    def common(ms, i):
        # A reason is shown for a line only when all its units share it.
        notes = {ch[i] for _, ch in ms}
        return notes.pop() if len(notes) == 1 else None
    if kind != "outcome":
        return [{"case": None, "backend": None, "kind": kind, "what": what, "old": old, "new": new,
                 "note": common(members, 3), "was": common(members, 4),
                 "cases": [f"{r.case} {r.backend}" for r, _ in members]}]
    by_case = {}
    for r, ch in members:
        by_case.setdefault(r.case, []).append((r, ch))
    by_set = {}
    for case, ms in by_case.items():
        by_set.setdefault(tuple(sorted((r.backend for r, _ in ms), key=order)), []).append((case, ms))
    return [{"case": None, "backend": ", ".join(bes), "kind": kind, "what": "", "old": old, "new": new,
             "note": common([m for _, ms in cs for m in ms], 3), "was": common([m for _, ms in cs for m in ms], 4),
             "cases": [case for case, _ in cs]} for bes, cs in by_set.items()]


def by_version(series, rows):
    """For each column where something changed, in series order: its label,
    the labels it was compared with, counts by kind, and the changes as
    lines {case, backend, kind, what, old, new, note, cases}: one line per
    change, except that GROUP_AT or more alike (_group) are one line listing
    their units in `cases`."""
    out = []
    for c in series.cols:
        hits = [(r, r.change_at(c)) for r in rows if r.change_at(c)]
        if not hits:
            continue
        hits.sort(key=lambda h: (KIND_ORDER[h[0].kind], h[0].case or "", h[0].backend or ""))
        groups = {}
        for r, ch in hits:
            g = _group(r, ch)
            if g:
                groups.setdefault(g, []).append((r, ch))
        backend_order = {b: i for i, b in enumerate(c.doc["run"]["backends"])}
        order = lambda b: backend_order.get(b, len(backend_order))  # noqa: E731
        lines, done = [], set()
        for r, ch in hits:
            g = _group(r, ch)
            if g and len(groups[g]) >= GROUP_AT:
                if g not in done:
                    done.add(g)
                    lines += _lines_of_group(g, groups[g], order)
                continue
            lines.append({"case": r.case, "backend": r.backend, "kind": r.kind, "what": r.what,
                          "old": ch[1], "new": ch[2], "note": ch[3], "was": ch[4], "cases": None})
        refs = sorted({h[1][0] for h in hits})
        out.append({"col": c, "label": c.label(series.name), "refs": ", ".join(refs), "lines": lines,
                    "counts": count_kinds(h[0] for h in hits)})
    return out


def count_kinds(rows):
    n = {}
    for r in rows:
        n[r.kind] = n.get(r.kind, 0) + 1
    return n


# ---- charts ----------------------------------------------------------------

def charts(kern, libc, series_list):
    from . import charts as C  # matplotlib only when drawing
    out = []
    allc = list(dict.fromkeys(kern + libc))
    labels = [f"{c.kernel_label}\n{c.libc_label}" for c in allc]
    outcomes = ("pass", "fail", "skip", "error", "xfail", "xpass")
    series = {}
    for o in outcomes:
        vals = [sum(1 for cs in c.doc["cases"] for u in cs["backends"] if R.applies(u) and u["outcome"] == o)
                for c in allc]
        if any(vals):
            series[o] = vals
    out.append({"title": "Units by outcome in each column",
                "svg": C.bars("h0", "Units by outcome in each column (units the case names)", labels, series,
                              "units", colours=C.OUTCOME_COLOURS)})
    for i, s in enumerate(series_list):
        feats = [r for r in s["rows"] if r.kind in ("feature", "backend")]
        if feats:
            grid = [[(cell["text"], {"pass": "pass", "skip": "skip"}.get(cell["cls"], "absent"), None)
                     for cell in r.cells] for r in feats]
            out.append({"title": f"Features and backends that differ between {s['name']}s",
                        "svg": C.grid(f"h{i + 1}f", f"Features and backends that differ between {s['name']}s",
                                      s["series"].labels, [r.what for r in feats], grid)})
        units = [r for r in s["rows"] if r.kind == "outcome"][:80]
        if units:
            grid = [[(cell["text"] if cell["cls"] != "absent" else "", cell["cls"] if cell["cls"] != "absent"
                      else "absent", None) for cell in r.cells] for r in units]
            out.append({"title": f"Units whose outcome differs between {s['name']}s",
                        "svg": C.grid(f"h{i + 1}u", f"Units whose outcome differs between {s['name']}s",
                                      s["series"].labels, [f"{r.case} {r.backend}" for r in units], grid)})
    return out


# ---- rendering -------------------------------------------------------------

def context(cols, kern, libc):
    for c in cols:
        c.items = items(c.doc)
    reference = next((c for c in libc if c in kern), None)
    series_list = []
    for name, members in (("kernel", kern), ("libc", libc)):
        if len(members) < 2:
            continue
        s = Series(name, members, reference)
        rows, same = s.compare()
        rows.sort(key=lambda r: (KIND_ORDER[r.kind], r.case or "", r.backend or "", str(r.key)))
        series_list.append({"name": name, "series": s, "rows": rows, "same": same,
                            "counts": count_kinds(rows), "by_version": by_version(s, rows),
                            "families": families(rows)})
    allc = list(dict.fromkeys(kern + libc))
    names = list(dict.fromkeys(f["name"] for c in allc for f in c.doc["environment"]["features"]))
    features = []
    for name in names:
        cells = [c.items.get(("feature", name)) for c in allc]
        states = {x[0] for x in cells if x}
        features.append({"name": name, "differs": len(states) > 1,
                         "cells": [{"text": x[0] if x else "—", "cls": css("feature", x[0]) if x else "absent",
                                    "title": x[1] if x else ""} for x in cells]})
    return {"columns": [column_info(c, kern, libc) for c in allc], "series_list": series_list,
            "features": features, "column_heads": [f"{c.kernel_label} / {c.libc_label}" for c in allc],
            "unplaced": [str(c.path) for c in cols if c not in kern and c not in libc],
            "kind_word": KIND_WORD}


def families(rows):
    out = {}
    for r in rows:
        fam = r.case.split("/")[0] if r.case else ("features" if r.kind == "feature" else "backends")
        out.setdefault(fam, []).append(r)
    return out


def column_info(c, kern, libc):
    s = c.doc["summary"]
    b = c.build or {}
    return {"kernel": c.kernel_label, "release": c.release, "libc": c.libc_label,
            "series": ", ".join(x for x, m in (("kernel", kern), ("libc", libc)) if c in m),
            "build": f"{b.get('linkage', 'build not recorded')}" + (f", {b['libc']}" if b.get("libc") else ""),
            "where": c.where + (f" ({c.accel})" if c.accel else ""),
            "subset": c.meta.get("subset") or ("patterns: " + " ".join(c.doc["run"]["patterns"])
                                              if c.doc["run"]["patterns"] else "default suite"),
            "suite": c.meta.get("suite") or "host", "package": c.meta.get("package") or "",
            "wall": c.meta.get("wall_s"), "summary": s, "path": str(c.path),
            "checks": checks_text(c.meta.get("pdspawn_checks"))}


def checks_text(checks):
    if not checks:
        return "not run"
    bad = [f"{n} exit {x}" for n, x in sorted(checks.items()) if x != 0]
    return "; ".join(bad) if bad else f"{len(checks)} passed"


def _env():
    import jinja2  # Debian: python3-jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=jinja2.select_autoescape(["html"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    env.filters["br"] = lambda s: html.escape(str(s)).replace("\n", "<br>")
    return env


def render(cols, kern, libc, outdir, draw=True):
    ctx = context(cols, kern, libc)
    env = _env()
    md = env.get_template("history.md.j2").render(**ctx)
    ctx["charts"] = charts(kern, libc, ctx["series_list"]) if draw else []
    page = env.get_template("history.html.j2").render(**ctx)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "history.md").write_text(md, encoding="utf-8")
    (outdir / "history.html").write_text(page, encoding="utf-8")
    summary = {"columns": ctx["columns"], "series": [
        {"name": s["name"], "columns": s["series"].labels, "timings_compared": s["series"].timings,
         "same": s["same"], "differences": s["counts"],
         "rows": [{"key": list(r.key), "values": [c["text"] for c in r.cells], "changed_in": r.changed_in}
                  for r in s["rows"]]} for s in ctx["series_list"]]}
    (outdir / "history.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return outdir / "history.md", outdir / "history.html"


def load_all(paths):
    cols = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and not (p / "result.json").exists():
            # A matrix folder: every column's result below it.
            found = sorted(p.glob("*/result.json"))
            if not found:
                raise R.InputError(f"{p}: no result.json in it or in its subfolders")
            cols += [Column(f, R.load(f)) for f in found]
            continue
        f = p / "result.json" if p.is_dir() else p
        cols.append(Column(f, R.load(f)))
    return cols


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="history",
        description="Several spawnlab results side by side: one column per kernel (one build on "
                    "several kernels) and one per libc (several builds on one kernel); the features "
                    "probed, every outcome, expectation or number that differs between columns, the "
                    "version where it changed, and a count of what is the same everywhere.  Writes "
                    "history.md, history.html (with charts) and history.json.",
        epilog="Exit status: 0, or 2 on a bad result or when the kernel columns are not one build.")
    ap.add_argument("results", nargs="+", help="result.json files, run folders, or a matrix folder")
    ap.add_argument("--out", metavar="DIR", help="where to write (default: the folder of the first result's parent)")
    ap.add_argument("--allow-mixed-builds", action="store_true",
                    help="accept kernel columns of different builds (their differences may be the build's)")
    ap.add_argument("--no-charts", action="store_true", help="skip the charts (no matplotlib needed)")
    args = ap.parse_args(argv)
    try:
        cols = load_all(args.results)
        kern, libc = classify(cols, args.allow_mixed_builds)
        if len(kern) < 2 and len(libc) < 2:
            raise R.InputError("no series: need one build on two kernels or two builds on one kernel "
                               "(results: " + ", ".join(f"{c.release} {c.libc_label}" for c in cols) + ")")
        out = Path(args.out) if args.out else Path(os.path.commonpath([str(c.path.parent) for c in cols]))
        md, page = render(cols, kern, libc, out, draw=not args.no_charts)
    except R.InputError as e:
        print(f"history: {e}", file=sys.stderr)
        return 2
    print(page)
    print(md)
    return 0
