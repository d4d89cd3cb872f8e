"""The semantics matrix and the chart data, both declared in matrix.json.

A row is a property; its cell for a backend comes from the first of the
row's `measures` that has data for that backend.  A measure names cases (id
globs) and either a `template` filled from the unit's numbers and
observation (see result.render), or `"outcomes": true` for a count of the
units' outcomes.  A cell with no data says "not measured"; a skipped unit
says why.  Nothing is computed that the file does not ask for."""
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
    return spec


def _cell(text, state, cases, title=""):
    return {"text": text, "state": state, "cases": cases, "title": title}


def _outcome_cell(units):
    counts = {o: sum(1 for _, u in units if u["outcome"] == o) for o in R.OUTCOMES}
    ids = [c["id"] for c, _ in units]
    if counts["skip"] == len(units):
        return _cell("skip", "skip", ids, units[0][1]["reason"])
    text = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    bad = [f"{c['id']}: {u['reason']}" for c, u in units if u["outcome"] in ("fail", "error")]
    state = "fail" if bad else "measured"
    return _cell(text, state, ids, "\n".join(bad))


def _measure(doc, m, backend):
    """(cell or None, skipped unit or None) for one measure."""
    cases = R.match_cases(doc, m["cases"])
    units = [(c, R.unit(c, backend)) for c in cases]
    units = [(c, u) for c, u in units if u is not None]
    if not units:
        return None, None
    if m.get("outcomes"):
        return _outcome_cell(units), None
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
        state = "fail" if u["outcome"] in ("fail", "error") else "measured"
        title = f"{c['id']}: {u['outcome']}" + (f": {u['reason']}" if u["reason"] else "")
        return _cell(text, state, [c["id"]], title), None
    return None, skipped


def cell(doc, row, backend):
    skipped = None
    for m in row["measures"]:
        c, s = _measure(doc, m, backend)
        if c is not None:
            return c
        skipped = skipped or s
    if skipped:
        c, u = skipped
        return _cell(u["outcome"], u["outcome"], [c["id"]], u["reason"] or "")
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


def grid_data(doc, chart, backends):
    """(case ids, [[(text, state, number) per backend] per case]) for a grid."""
    ids, rows = [], []
    value = chart.get("value", "outcome")
    for c in R.match_cases(doc, chart["cases"]):
        row = []
        for b in backends:
            u = R.unit(c, b)
            if u is None:
                row.append(("", "absent", None))
            elif value == "outcome" or u["outcome"] == "skip":
                row.append((u["outcome"], u["outcome"], None))
            else:
                text = R.render(value, u)
                n = R.as_number(text) if text is not None else None
                row.append((text if text is not None else "n/a", u["outcome"], n))
        ids.append(c["id"])
        rows.append(row)
    return ids, rows


def lines_data(doc, chart, backends):
    """{backend: [(x, y), ...]} sorted by x, for a `lines` chart; the optional
    `floor` key becomes its own series."""
    out, floors = {}, {}
    for c in R.match_cases(doc, chart["cases"]):
        for b in backends:
            u = R.unit(c, b)
            if u is None:
                continue
            x = R.as_number(R.lookup(u, chart["x"]))
            y = R.as_number(R.lookup(u, chart["y"]))
            if x is not None and y is not None:
                out.setdefault(b, []).append((x, y))
            f = R.as_number(R.lookup(u, chart["floor"])) if chart.get("floor") else None
            if x is not None and f is not None:
                floors.setdefault(x, []).append(f)
    if floors:  # each unit measured the floor in its own loop: their median
        out[chart.get("floor_label", "floor")] = [(x, statistics.median(v)) for x, v in floors.items()]
    return {k: sorted(v) for k, v in out.items()}
