"""scripts/report: a real result renders into report.md and a self-contained
report.html whose matrix has the backends as columns and whose cells come
from the data (or say "not measured"); the report of a default run
measures every row of the shipped matrix (issue 22)."""
import copy
import html.parser
import json
import shutil
import subprocess

import pytest

from conftest import ROOT, need_deb, subset

REPORT = ROOT / "scripts" / "report"
MATRIX = json.loads((ROOT / "scripts" / "matrix.json").read_text())
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def report(*args):
    return subprocess.run(["/usr/bin/python3", str(REPORT), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def real(tmp_path_factory, default_run):
    """The exec and cost families of the session's default run, as a result
    of their own (small, so that rendering it is quick)."""
    doc = subset(default_run.doc, "exec/*", "cost/*")
    path = tmp_path_factory.mktemp("real") / "result.json"
    path.write_text(json.dumps(doc))
    return path, doc


class Page(html.parser.HTMLParser):
    """Checks nesting (every end tag closes the innermost open element) and
    collects what the tests look at."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.urls, self.tables, self.ids = [], [], [], [], set()
        self.links = []  # <a href>: what a reader may follow, not what the page loads
        self.svgs, self._cell = 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("src", "href", "xlink:href"):
            if a.get(k):
                (self.links if tag == "a" and k == "href" and not a[k].startswith("#") else self.urls).append(a[k])
        if tag == "svg":
            self.svgs += 1
        if tag == "table":
            self.tables.append({"class": a.get("class"), "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []
        elif self._cell is not None:
            self._cell.append(" ")  # <br>, <div>: words stay apart
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(path):
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


@pytest.fixture(scope="module")
def rendered(real, tmp_path_factory):
    src, doc = real
    out = tmp_path_factory.mktemp("rendered")
    p = report(src, "--out", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(out / "report.html"), str(out / "report.md")]
    return doc, out, parse(out / "report.html")


def matrix_table(page):
    return next(t for t in page.tables if t["class"] == "matrix")


def test_html_is_valid_and_self_contained(rendered):
    _, out, page = rendered
    assert page.errors == [] and page.stack == [], (page.errors, page.stack)
    text = (out / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    remote = [u for u in page.urls if not u.startswith("#")]
    assert remote == [], "report.html loads something from outside itself"
    # Typed sources become links to the documents they cite.
    assert any(u.startswith("https://man7.org/linux/man-pages/") for u in page.links), page.links[:5]
    assert all(u.startswith("https://") for u in page.links), page.links
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert page.svgs >= 1


def test_matrix_has_backends_as_columns_and_every_row(rendered):
    doc, out, page = rendered
    t = matrix_table(page)
    header = t["rows"][0]
    names = [h.split()[0] for h in header[1:]]
    assert header[0] == "property" and names == doc["run"]["backends"]
    props = [r[0] for r in t["rows"][1:]]
    assert len(props) == len(MATRIX["rows"])
    for want, got in zip(MATRIX["rows"], props):
        assert got.startswith(want["property"])
    md = (out / "report.md").read_text()
    assert "| property | " + " | ".join(doc["run"]["backends"]) + " | cases |" in md


def test_matrix_cells_come_from_the_result(real, tmp_path):
    """An observation row and a number row say what the units recorded
    (own matrix definition, so scripts/matrix.json stays free to change)."""
    src, doc = real
    spec = {"rows": [
        {"property": "fds", "measures": [{"cases": "exec/plain_fd_inherited", "template": "{fd.10.path}",
                                          "map": {"/dev/null": "inherited"}, "absent": "closed", "absent_if": "fds"}]},
        {"property": "latency", "measures": [{"cases": "cost/spawn_static",
                                              "template": "{num.reaped_median_us:.0f} µs"}]}]}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    p = report(src, "--out", tmp_path, "--matrix", tmp_path / "m.json")
    assert p.returncode == 0, p.stderr
    fds, latency = [r[1:] for r in matrix_table(parse(tmp_path / "report.html"))["rows"][1:]]
    case = {c["id"]: c for c in doc["cases"]}
    for i, b in enumerate(doc["run"]["backends"]):
        u = next(x for x in case["exec/plain_fd_inherited"]["backends"] if x["backend"] == b)
        if u["outcome"] == "skip":
            assert fds[i].startswith("skip")
        elif u["observation"].get("fd.10.path") == "/dev/null":
            assert fds[i].startswith("inherited")
        else:
            assert "fds" in u["observation"] and fds[i].startswith("closed")
        u = next(x for x in case["cost/spawn_static"]["backends"] if x["backend"] == b)
        if u["outcome"] != "skip":
            assert latency[i].startswith(f'{u["numbers"]["reaped_median_us"]:.0f} µs cost/spawn_static')
        else:
            assert latency[i].startswith("skip")


def test_absent_data_is_not_measured(real, tmp_path):
    src, doc = real
    spec = {"rows": [
        {"property": "no such family", "measures": [{"cases": "nosuch/*", "outcomes": True}]},
        {"property": "no such key", "measures": [{"cases": "exec/*", "template": "{num.nosuch}"}]},
        {"property": "spawn_us", "measures": [{"cases": "exec/exec_enoent", "template": "{num.spawn_us} us"}]}],
        "charts": [{"type": "bars", "title": "spawn call by backend", "cases": "exec/exec_*", "keys": ["num.spawn_us"]},
                   {"type": "bars", "title": "never measured", "cases": "nosuch/*", "keys": ["num.x"]}]}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    p = report(src, "--out", tmp_path, "--matrix", tmp_path / "m.json")
    assert p.returncode == 0, p.stderr
    page = parse(tmp_path / "report.html")
    rows = matrix_table(page)["rows"][1:]
    avail = {b["name"] for b in doc["environment"]["backends"] if b["available"]}
    for i, b in enumerate(doc["run"]["backends"]):
        assert rows[0][1 + i] == "not measured"
        if b in avail:  # ran, but recorded no such key
            assert rows[1][1 + i] == "not measured"
            assert rows[2][1 + i].split()[1] == "us"
        else:  # skipped: the cell says so (the reason is its title)
            assert rows[1][1 + i].startswith("skip") and rows[2][1 + i].startswith("skip")
    text = (tmp_path / "report.html").read_text()
    assert page.svgs == 1 and "spawn call by backend" in text
    assert "never measured: not measured" in text


def planted(doc):
    """A copy with one skip and one failure planted (schema-valid)."""
    d = copy.deepcopy(doc)
    u = d["cases"][0]["backends"][0]
    u.update(outcome="fail", reason="planted failure: line 1: want 1, got 2")
    u = d["cases"][1]["backends"][0]
    u.update(outcome="skip", reason="planted skip: feature absent")
    return d


def test_every_family_skip_and_failure_is_listed(real, tmp_path):
    _, doc = real
    (tmp_path / "r.json").write_text(json.dumps(planted(doc)))
    p = report(tmp_path / "r.json")
    assert p.returncode == 0, p.stderr
    page = parse(tmp_path / "report.html")
    md = (tmp_path / "report.md").read_text()
    for fam in {c["family"] for c in doc["cases"]}:
        assert f"family-{fam}" in page.ids and f"## Family `{fam}`" in md
    for c in doc["cases"]:
        assert "case-" + c["id"].replace("/", "-") in page.ids
    html_text = (tmp_path / "report.html").read_text()
    for s in ("planted skip: feature absent", "planted failure: line 1: want 1, got 2",
              doc["environment"]["kernel"]["release"], doc["environment"]["libc"]["version"]):
        assert s in md and s in html_text


@pytest.mark.parametrize("bad, says", [
    ("not json {", "not JSON"),
    ('{"schema": "spawnlab-result"}', "not a spawnlab result"),
])
def test_bad_input_exits_2(tmp_path, bad, says):
    (tmp_path / "r.json").write_text(bad)
    p = report(tmp_path / "r.json")
    assert p.returncode == 2 and says in p.stderr, p.stderr
    assert not (tmp_path / "report.html").exists()


def test_help():
    p = report("--help")
    assert p.returncode == 0 and "--matrix" in p.stdout


def test_opens_in_headless_chromium(rendered, tmp_path):
    need_deb("chromium", shutil.which("chromium"))
    _, out, _ = rendered
    p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                        f"--user-data-dir={tmp_path}", (out / "report.html").as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Semantics matrix" in p.stdout and "<svg" in p.stdout


def test_count_measure_and_known_findings(real, tmp_path):
    """A `count` cell counts the units that report the key (closed when the
    probe ran but listed no such fd), its {tally} the values counted; a case
    with a finding is listed at the top with its xfail, and the matrix marks
    its cell."""
    src, doc = real
    d = copy.deepcopy(doc)
    case = next(c for c in d["cases"] if c["id"] == "exec/plain_fd_inherited")
    ran = [u for u in case["backends"] if u["outcome"] == "pass"]
    assert ran, "no backend ran exec/plain_fd_inherited"
    ran[0]["observation"]["fd.10"] = "closed"  # as if this backend closed it
    finding = next(c for c in d["cases"] if c["id"] == "exec/exec_enoent")
    unit = next(u for u in finding["backends"] if u["outcome"] == "pass")
    unit.update(outcome="xfail", reason="planted: line 3: want 0, got ENOENT",
                findings=[{"line": 99, "key": "spawn.errno", "op": "=", "expected": "ENOENT", "actual": "ENOENT",
                           "holds": True, "documented_ok": False}])
    finding.update(findings=[{"line": 99, "backends": [unit["backend"]], "libc": None, "key": "spawn.errno",
                              "op": "=", "value": "ENOENT", "why": "planted finding: the machine disagrees"}],
                   outcome="xfail")
    d["summary"]["xfail"] = 1
    spec = {"rows": [
        {"property": "fds", "measures": [{"cases": "exec/plain_fd_inherited", "count": "fd.10", "not": ["closed"],
                                          "absent": "closed", "absent_if": "fds",
                                          "template": "inherited: {n} of {m}"}]},
        {"property": "enoent", "measures": [{"cases": "exec/exec_enoent", "outcomes": True}]},
        {"property": "tally", "measures": [{"cases": "exec/plain_fd_inherited", "count": "fd.10", "not": ["closed"],
                                           "absent": "closed", "absent_if": "fds", "template": "{n}: {tally}"}]}]}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    (tmp_path / "r.json").write_text(json.dumps(d))
    p = report(tmp_path / "r.json", "--out", tmp_path, "--matrix", tmp_path / "m.json")
    assert p.returncode == 0, p.stderr
    fds, enoent, tally = [r[1:] for r in matrix_table(parse(tmp_path / "report.html"))["rows"][1:]]
    col = {b: i for i, b in enumerate(doc["run"]["backends"])}
    for u in case["backends"]:
        cell = fds[col[u["backend"]]]
        if u["outcome"] != "pass":
            assert not cell.startswith("inherited"), cell
            continue
        value = u["observation"].get("fd.10", "closed" if "fds" in u["observation"] else None)
        held = value != "closed"
        assert cell.startswith(f"inherited: {int(held)} of 1"), cell
        assert tally[col[u["backend"]]].startswith(f"1: 1 {value}" if held else "0: none"), tally
    assert enoent[col[unit["backend"]]].startswith("1 xfail (known finding)")
    md = (tmp_path / "report.md").read_text()
    html_text = (tmp_path / "report.html").read_text()
    for text in (md, html_text):
        assert "Known findings" in text and "planted finding: the machine disagrees" in text
        assert "spawn.errno = ENOENT" in text and "observed ENOENT" in text
        assert "spawn.errno = ENOENT" in text and "observed ENOENT" in text
        assert text.index("Known findings") < text.index("Semantics matrix")


@pytest.fixture(scope="module")
def full(default_run, tmp_path_factory):
    """The whole default run rendered with the shipped matrix."""
    out = tmp_path_factory.mktemp("full")
    p = report(default_run.out / "result.json", "--out", out)
    assert p.returncode == 0, p.stderr
    return default_run.doc, out, parse(out / "report.html")


def test_default_report_measures_every_row(full):
    """Every row of the semantics matrix has a value in a default run: the
    race leak rate and the large-parent latency from their budgeted cases
    when the explicit full-size ones were not run."""
    doc, out, page = full
    t = matrix_table(page)
    unmeasured = [(r[0], b) for r in t["rows"][1:] for b, cell in zip(doc["run"]["backends"], r[1:])
                  if cell.startswith("not measured")]
    assert unmeasured == []
    rows = {r[0]: r[1:] for r in t["rows"][1:]}
    race = next(v for k, v in rows.items() if k.startswith("race leak rate"))
    large = next(v for k, v in rows.items() if k.startswith("spawn latency, large parent"))
    avail = {b["name"] for b in doc["environment"]["backends"] if b["available"]}
    for b, r, lg in zip(doc["run"]["backends"], race, large):
        if b in avail:
            assert "budgeted" in r and "budgeted" in lg, (b, r, lg)
    md = (out / "report.md").read_text()
    assert "not measured" not in md.split("## Semantics matrix")[1].split("\n## ")[0]
    # Nor anywhere else: a chart or table whose cases run only when named
    # says how to run them, and the race chart draws the budgeted case.
    html = (out / "report.html").read_text()
    absent = [line for line in html.splitlines() if "not measured (no data" in line]
    assert absent == []
    explicit = [ch for ch in MATRIX["charts"] + MATRIX["tables"] if ch.get("explicit")]
    assert explicit and all(f"its cases run only when named: {ch['explicit']}" in html for ch in explicit)
    race = next(ch for ch in MATRIX["charts"] if ch["title"].startswith("Race:"))
    assert "fd/budget_race_nonatomic" in race["cases"]
    assert page.svgs >= sum(1 for ch in MATRIX["charts"] if not ch.get("explicit"))


def test_sigchld_tables(full):
    """The report says how each method counts a notification, and where the
    parent was while 10,000 children exited, with the run's numbers."""
    doc, out, page = full
    md = (out / "report.md").read_text()
    assert "How the sigchld experiment counts a notification" in md
    where = next(t for t in MATRIX["tables"] if "cases" in t)
    assert where["title"] in md
    table = next(t for t in page.tables if t["rows"] and t["rows"][0][:2] == ["case", "exits"])
    by_case = {r[0]: r for r in table["rows"][1:]}
    for c in doc["cases"]:
        if c["id"].startswith("sigchld/barrier_") and c["id"].endswith("_10000"):
            u = c["backends"][0]
            row = by_case[c["id"].split("/", 1)[1]]
            assert row[1] == str(u["numbers"]["exits"]) and row[2] == str(u["numbers"]["notifications"])
