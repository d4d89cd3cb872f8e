"""The semantics matrix and the chart data, both declared in matrix.json.

A row is a property; its cell for a backend comes from the first of the
row's `measures` that has data for that backend.  A measure names cases (id
globs) and either a `template` filled from the unit's numbers and
observation (see result.render), or `"outcomes": true` for a count of the
units' outcomes, or `"count": KEY` for how many of the units that report
KEY have a value not in `not` (or in `in`), as {n} of {m} in the template
({tally}: how many of those counted had each value, most first).
A cell with no data says "not measured"; a skipped unit says why.  Nothing is computed that the file does not ask for.

`tables` are shown as they are (`header` and `rows`: documentation of how
something is measured) or filled from the result (`cases` and `keys`: one
row per case, from its first unit that ran)."""
import fnmatch
import json
import statistics

from . import result as R


def load_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise R.InputError(f"{path}: bad matrix definition: {e}") from e
    if not isinstance(spec.get("rows"), list):
        raise R.InputError(f"{path}: bad matrix definition: no \"rows\" list")
    for i, row in enumerate(spec["rows"]):
        if "property" not in row or not isinstance(row.get("measures"), list):
            raise R.InputError(f"{path}: row {i}: needs \"property\" and a \"measures\" list")
        for m in row["measures"]:
            if "cases" not in m or not ("template" in m or m.get("outcomes")):
                raise R.InputError(f"{path}: row {row['property']!r}: each measure needs "
                                   "\"cases\" and a \"template\" or \"outcomes\": true")
            if "count" in m and ("template" not in m or ("not" in m) == ("in" in m)):
                raise R.InputError(f"{path}: row {row['property']!r}: a \"count\" measure needs "
                                   "a \"template\" and one of \"not\" or \"in\"")
    for i, t in enumerate(spec.get("tables", [])):
        if "title" not in t or not (("header" in t and "rows" in t) or ("cases" in t and "keys" in t)):
            raise R.InputError(f"{path}: table {i}: needs a \"title\" and either \"header\" and \"rows\" "
                               "or \"cases\" and \"keys\"")
    return spec


def _cell(text, state, cases, title=""):
    return {"text": text, "state": state, "cases": cases, "title": title}


def _state(outcomes):
    """A cell's colour: failed beats a known finding beats measured."""
    if any(o in ("fail", "error") for o in outcomes):
        return "fail"
    if any(o in ("xfail", "xpass") for o in outcomes):
        return "finding"
    return "measured"


def _outcome_cell(units):
    counts = {o: sum(1 for _, u in units if u["outcome"] == o) for o in R.OUTCOMES}
    ids = [c["id"] for c, _ in units]
    if counts["skip"] == len(units):
        return _cell("skip", "skip", ids, units[0][1]["reason"])
    text = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    bad = [f"{c['id']}: {u['outcome']}: {u['reason']}" for c, u in units
           if u["outcome"] in ("fail", "error", "xfail", "xpass")]
    return _cell(text, _state([u["outcome"] for _, u in units]), ids, "\n".join(bad))


def _count_cell(m, units):
    """{n} of {m}: units whose m["count"] value is (not) in the list; units
    that were skipped, broke or lack the key are not counted at all."""
    key, hits, seen, values = m["count"], [], [], {}
    for c, u in units:
        v = R.lookup(u, key)
        if v is None and "absent" in m and R.lookup(u, m.get("absent_if", "probe.version")) is not None:
            v = m["absent"]  # the probe ran and did not list the key: e.g. fd closed
        if u["outcome"] in ("skip", "error") or v is None:
            continue
        seen.append((c, u))
        if (v not in m["not"]) if "not" in m else (v in m["in"]):
            hits.append(c["id"])
            values[v] = values.get(v, 0) + 1
    if not seen:
        return None
    tally = ", ".join(f"{k} {v}" for v, k in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
    text = m["template"].replace("{n}", str(len(hits))).replace("{m}", str(len(seen)))
    text = text.replace("{tally}", tally or "none")
    title = f"{key} counted in: " + (", ".join(hits) if hits else "none")
    return _cell(text, _state([u["outcome"] for _, u in seen]), [c["id"] for c, _ in seen], title)


def _measure(doc, m, backend):
    """(cell or None, skipped unit or None) for one measure."""
    cases = R.match_cases(doc, m["cases"])
    units = [(c, R.unit(c, backend)) for c in cases]
    units = [(c, u) for c, u in units if u is not None]
    if units and not any(R.applies(u) for _, u in units):
        return None, "n/a"
    units = [(c, u) for c, u in units if R.applies(u)]
    if not units:
        return None, None
    if m.get("outcomes"):
        return _outcome_cell(units), None
    if "count" in m:
        c = _count_cell(m, units)
        if c is not None:
            return c, None
        return None, next(((c, u) for c, u in units if u["outcome"] in ("skip", "error")), None)
    skipped = None
    for c, u in units:
        text = R.render(m["template"], u)
        if text is None and "absent" in m and u["outcome"] != "skip" \
                and R.lookup(u, m.get("absent_if", "probe.version")) is not None:
            text = m["absent"]
        if text is None:
            if u["outcome"] in ("skip", "error") and skipped is None:
                skipped = (c, u)
            continue
        text = m.get("map", {}).get(text, text)
        state = _state([u["outcome"]])
        title = f"{c['id']}: {u['outcome']}" + (f": {u['reason']}" if u["reason"] else "")
        return _cell(text, state, [c["id"]], title), None
    return None, skipped


def cell(doc, row, backend):
    skipped, na = None, False
    for m in row["measures"]:
        c, s = _measure(doc, m, backend)
        if c is not None and not (c["state"] == "skip" and skipped):
            return c
        if s == "n/a":
            na = True
        elif c is None:
            skipped = skipped or s
    if skipped:
        c, u = skipped
        return _cell(u["outcome"], u["outcome"], [c["id"]], u["reason"] or "")
    if na:
        return _cell("n/a", "absent", [], "the cases behind this row are not for this backend")
    return _cell("not measured", "absent", [], "no case in this result measures it")


def matrix(doc, spec, backends):
    rows = []
    for row in spec["rows"]:
        cells = [cell(doc, row, b) for b in backends]
        ids = []
        for c in cells:
            ids += [i for i in c["cases"] if i not in ids]
        if len(ids) > 4:  # name the globs rather than a page of ids
            pats = []
            for m in row["measures"]:
                p = m["cases"] if isinstance(m["cases"], list) else [m["cases"]]
                pats += [x for x in p if x not in pats]
            label = f"{len(ids)} cases: " + ", ".join(pats)
        else:
            label = ", ".join(ids)
        rows.append({"property": row["property"], "question": row.get("question", ""),
                     "cells": cells, "cases": ids, "cases_label": label})
    return rows


# ---- chart data -------------------------------------------------------

def bars_data(doc, chart, backends):
    """{series label: [value or None per backend]} for a `bars` chart: one
    series per (case, key) that has data for some backend."""
    labels = chart.get("labels", {})
    series = {}
    cases = R.match_cases(doc, chart["cases"])
    for c in cases:
        for key in chart["keys"]:
            vals = []
            for b in backends:
                u = R.unit(c, b)
                v = R.as_number(R.lookup(u, key)) if u else None
                vals.append(v)
            if any(v is not None for v in vals):
                name = labels.get(key, key)
                if len(cases) > 1:
                    name = f"{c['id'].split('/', 1)[1]}: {name}"
                series[name] = vals
    return series


def _grid_cell(u, value):
    if u is None:
        return ("", "absent", None)
    if not R.applies(u):
        return ("n/a", "absent", None)
    if value == "outcome" or u["outcome"] == "skip":
        return (u["outcome"], u["outcome"], None)
    text = R.render(value, u)
    n = R.as_number(text) if text is not None else None
    return (text if text is not None else "n/a", u["outcome"], n)


def _grid_cases(doc, chart):
    skip = chart.get("exclude", [])
    return [c for c in R.match_cases(doc, chart["cases"])
            if not any(fnmatch.fnmatchcase(c["id"], p) for p in skip)]


def pivot_data(doc, chart):
    """(columns, row labels, cells) for a grid with `pivot`: BACKEND: a case
    id NAME_SUFFIX becomes row NAME, column SUFFIX, of that backend's units
    (the EINTR matrix: call x mode)."""
    cols, ids, cells = [], [], {}
    for c in _grid_cases(doc, chart):
        name, _, col = c["id"].split("/", 1)[1].rpartition("_")
        if not name:
            continue
        cols += [col] if col not in cols else []
        ids += [name] if name not in ids else []
        cells[(name, col)] = _grid_cell(R.unit(c, chart["pivot"]), chart.get("value", "outcome"))
    rows = [[cells.get((i, col), ("", "absent", None)) for col in cols] for i in ids]
    return cols, ids, rows


def grid_data(doc, chart, backends):
    """(case ids, [[(text, state, number) per backend] per case]) for a grid."""
    ids, rows = [], []
    value = chart.get("value", "outcome")
    for c in _grid_cases(doc, chart):
        row = []
        for b in backends:
            u = R.unit(c, b)
            row.append(_grid_cell(u, value))
        ids.append(c["id"])
        rows.append(row)
    return ids, rows


def lines_data(doc, chart, backends):
    """{series: [(x, y), ...]} sorted by x, for a `lines` chart: one series
    per backend, or per value of the chart's `series` key (with the backend
    added when several ran); the optional `floor` key becomes its own series."""
    out, floors = {}, {}
    ran = {u["backend"] for c in R.match_cases(doc, chart["cases"]) for u in c["backends"]
           if u["outcome"] != "skip"}
    for c in R.match_cases(doc, chart["cases"]):
        for b in backends:
            u = R.unit(c, b)
            if u is None or u["outcome"] == "skip":
                continue
            x = R.as_number(R.lookup(u, chart["x"]))
            y = R.as_number(R.lookup(u, chart["y"]))
            name = b
            if chart.get("series"):
                name = R.lookup(u, chart["series"]) or "?"
                name = f"{b}: {name}" if len(ran) > 1 else name
            if x is not None and y is not None:
                out.setdefault(name, []).append((x, y))
            f = R.as_number(R.lookup(u, chart["floor"])) if chart.get("floor") else None
            if x is not None and f is not None:
                floors.setdefault(x, []).append(f)
    if floors:  # each unit measured the floor in its own loop: their median
        out[chart.get("floor_label", "floor")] = [(x, statistics.median(v)) for x, v in floors.items()]
    return {k: sorted(v) for k, v in out.items()}


def table_data(doc, table):
    """(header, rows) of a table: its own rows, or one row per matching case
    (the case's name, then each key of its first unit that was not skipped;
    "" where that unit lacks the key).  Rows with no unit that ran are left
    out; no row at all gives (header, [])."""
    if "rows" in table:
        return table["header"], table["rows"]
    labels = table.get("labels", {})
    header = ["case"] + [labels.get(k, k) for k in table["keys"]]
    rows = []
    for c in R.match_cases(doc, table["cases"]):
        u = next((u for u in c["backends"] if u["outcome"] != "skip"), None)
        if u is None:
            continue
        vals = []
        for k in table["keys"]:
            v = R.lookup(u, k)
            vals.append("" if v is None else R.fmt_number(v) if R.as_number(v) is not None else str(v))
        rows.append([c["id"].split("/", 1)[1]] + vals)
    return header, rows
