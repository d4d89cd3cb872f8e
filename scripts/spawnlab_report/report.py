"""scripts/report: result.json -> report.md and a self-contained report.html."""
import argparse
import sys
from pathlib import Path

from . import matrix as M
from . import result as R

HERE = Path(__file__).resolve().parent
DEFAULT_MATRIX = HERE.parent / "matrix.json"


def anchor(case_id):
    return "case-" + case_id.replace("/", "-")


def _skips(doc):
    """[(backend, reason, [case ids])], identical reasons grouped."""
    groups = {}
    for c in doc["cases"]:
        for u in c["backends"]:
            if u["outcome"] == "skip" and R.applies(u):
                groups.setdefault((u["backend"], u["reason"]), []).append(c["id"])
    return [(b, r, ids) for (b, r), ids in groups.items()]


def _families(doc, backends):
    out = []
    for name, cases in R.families(doc).items():
        rows, numbers = [], []
        for c in cases:
            cells = []
            for b in backends:
                u = R.unit(c, b)
                if u is not None and not R.applies(u):
                    cells.append({"outcome": "", "reason": u["reason"]})  # shown as a dash
                else:
                    cells.append({"outcome": u["outcome"], "reason": u["reason"] or ""} if u
                                 else {"outcome": "", "reason": "no unit: the case names other backends"})
            rows.append({"case": c, "anchor": anchor(c["id"]), "cells": cells})
            keys = []
            for u in c["backends"]:
                keys += [k for k in u["numbers"] if k not in keys]
            for k in keys:
                vals = []
                for b in backends:
                    u = R.unit(c, b)
                    v = u["numbers"].get(k) if u else None
                    vals.append("" if v is None else R.fmt_number(v))
                numbers.append({"case": c["id"], "key": "num." + k, "vals": vals})
        out.append({"name": name, "rows": rows, "numbers": numbers})
    return out


def _charts(doc, spec, backends):
    from . import charts as C  # matplotlib only when charts are drawn
    out = []
    for i, ch in enumerate(spec.get("charts", [])):
        title, kind, svg = ch["title"], ch["type"], None
        if kind == "bars":
            series = M.bars_data(doc, ch, backends)
            if series:
                svg = C.bars(f"c{i}", title, backends, series, ch.get("unit", ""))
        elif kind == "grid" and ch.get("pivot"):
            cols, ids, rows = M.pivot_data(doc, ch)
            if ids:
                svg = C.grid(f"c{i}", title, cols, ids, rows, ch.get("palette"))
        elif kind == "grid":
            ids, rows = M.grid_data(doc, ch, backends)
            if ids:
                svg = C.grid(f"c{i}", title, backends, ids, rows, ch.get("palette"))
        elif kind == "lines":
            series = M.lines_data(doc, ch, backends)
            if series:
                svg = C.lines(f"c{i}", title, series, ch.get("xlabel", ch["x"]), ch.get("ylabel", ch["y"]),
                              xlog=ch.get("xlog", 2), ylog=ch.get("ylog", False))
        else:
            raise R.InputError(f"matrix chart {title!r}: unknown type {kind!r} (bars, grid, lines)")
        cases = ch["cases"] if isinstance(ch["cases"], list) else [ch["cases"]]
        out.append({"title": title, "svg": svg, "note": ch.get("note", ""), "cases": cases,
                    "explicit": ch.get("explicit", "")})
    return out


def _tables(doc, spec):
    out = []
    for t in spec.get("tables", []):
        header, rows = M.table_data(doc, t)
        cases = t.get("cases", [])
        out.append({"title": t["title"], "note": t.get("note", ""), "header": header, "rows": rows,
                    "cases": cases if isinstance(cases, list) else [cases], "measured": "cases" in t,
                    "explicit": t.get("explicit", "")})
    return out


def context(doc, spec, src):
    backends = R.backends(doc)
    avail = {b["name"]: b for b in doc["environment"]["backends"]}
    # The matrix compares backends: the pseudo-backend "none" of
    # backend-independent cases has no column there.
    compared = [b for b in backends if b != "none"]
    rows = M.matrix(doc, spec, compared)
    failures = [(c["id"], u["backend"], u["outcome"], u["reason"])
                for c in doc["cases"] for u in c["backends"] if u["outcome"] in ("fail", "error")]
    # Known findings (the machine disagrees with the case's source): listed
    # first, each with the documented expectation it is bound to and what
    # each backend showed this time.
    findings = []
    for c in doc["cases"]:
        for f in c["findings"]:
            documented = sorted({f'{e["key"]} {e["op"]} {e["expected"]}' for u in c["backends"]
                                 for e in u["expectations"] if e["key"] == f["key"]})
            units = [(u["backend"], u["outcome"], g["actual"]) for u in c["backends"] for g in u["findings"]
                     if g["line"] == f["line"]]
            findings.append({"case": c, "anchor": anchor(c["id"]), "finding": f, "documented": documented,
                             "units": units})
    return {"doc": doc, "env": doc["environment"], "run": doc["run"], "summary": doc["summary"],
            "src": str(src), "backends": backends, "compared": compared, "avail": avail, "matrix": rows,
            "families": _families(doc, backends), "skips": _skips(doc), "failures": failures,
            "findings": findings, "tables": _tables(doc, spec),
            # A case has no unit on a backend it does not name (not a skip).
            "not_for_backend": sum(1 for c in doc["cases"] for b in doc["run"]["backends"] if R.unit(c, b) is None),
            "anchor": anchor}


def _env():
    import jinja2  # Debian: python3-jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=jinja2.select_autoescape(["html"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    env.filters["source"] = R.source_text
    env.filters["sources"] = lambda srcs: "; ".join(R.source_text(x) for x in srcs)
    env.filters["source_url"] = R.source_url
    return env


def render(doc, spec, src, outdir):
    ctx = context(doc, spec, src)
    env = _env()
    md = env.get_template("report.md.j2").render(**ctx)
    ctx["charts"] = _charts(doc, spec, ctx["compared"])
    html = env.get_template("report.html.j2").render(**ctx)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "report.md").write_text(md, encoding="utf-8")
    (outdir / "report.html").write_text(html, encoding="utf-8")
    return outdir / "report.md", outdir / "report.html"


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="report",
        description="Render a spawnlab result.json into report.md and a self-contained "
                    "report.html (semantics matrix, per-family tables, inline SVG charts).")
    ap.add_argument("result", help="result.json, or a run folder holding one")
    ap.add_argument("--out", metavar="DIR", help="where to write the reports (default: beside the result)")
    ap.add_argument("--matrix", metavar="FILE", default=str(DEFAULT_MATRIX),
                    help="the matrix and chart definition (default: %(default)s)")
    args = ap.parse_args(argv)
    src = Path(args.result)
    if src.is_dir():
        src = src / "result.json"
    try:
        doc = R.load(src)
        spec = M.load_spec(args.matrix)
        md, html = render(doc, spec, src, Path(args.out) if args.out else src.parent)
    except R.InputError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    print(html)
    print(md)
    return 0
