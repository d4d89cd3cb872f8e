"""The version matrix on a small scale (scripts/matrix with the `smoke`
subset): the host and one Debian kernel in a VM running the same static
binary, a libc from another Debian suite on the host's kernel, the history
report over them, slim baselines, and the build checks of scripts/diff and
scripts/history.  Every expectation is read from the results, not from this
machine: which columns differ is computed here from the result files and
compared with what the report says."""
import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, validate

from conftest import MATRIX_KERNEL as KERNEL_SUITE, MATRIX_LIBC as LIBC, SCRIPTS, script


def load(path):
    return validate(json.loads(Path(path).read_text()))


@pytest.fixture(scope="module")
def matrix(matrix_run):
    return matrix_run


@pytest.fixture(scope="module")
def cols(matrix):
    out, _ = matrix
    return {d.name: load(d / "result.json") for d in out.iterdir() if (d / "result.json").exists()}


def test_matrix_runs_every_column_and_says_where_the_report_is(matrix, cols):
    out, p = matrix
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert set(cols) == {"host", f"linux-{KERNEL_SUITE}", LIBC}
    assert f"history: {out / 'history.html'}" in p.stdout
    assert re.search(rf"\[\d+/\d+\] kernel: Debian {KERNEL_SUITE} in a VM", p.stdout), p.stdout
    for name, doc in cols.items():
        col = doc["column"]
        assert col["subset"] == "smoke" and col["patterns"] == ["exec", "fd/closefrom", "libc/reserved_signals*"]
        assert doc["complete"] and doc["summary"]["run"] >= 30, (name, doc["summary"])
        # pdspawn's checkers ran on the same kernel and libc and passed.
        assert col["pdspawn_checks"] == {"pdspawn-check": 0, "pdspawn-check-legacy": 0}, (name, col)
        bad = [(c["id"], u["backend"], u["reason"]) for c in doc["cases"] for u in c["backends"]
               if u["outcome"] in ("fail", "error")]
        assert not bad, (name, bad)
    assert cols[f"linux-{KERNEL_SUITE}"]["column"]["where"] == "vm"
    assert cols["host"]["column"]["series"] == ["kernel", "libc"]


def test_one_binary_on_both_kernels(matrix, cols):
    """The host and the VM ran one static build: the build fields agree, the
    diff finds no build difference, and no libc feature differs between
    kernels (the old dynamic-host diff showed addclosefrom_np yes -> unknown)."""
    out, _ = matrix
    host, vm = cols["host"], cols[f"linux-{KERNEL_SUITE}"]
    assert host["environment"]["kernel"]["release"] != vm["environment"]["kernel"]["release"]
    assert host["environment"]["build"] == vm["environment"]["build"]
    assert host["environment"]["build"]["linkage"] == "static"
    p = script("diff", "--same-build", "--format", "json", out / "host", out / f"linux-{KERNEL_SUITE}")
    assert p.returncode in (0, 1), p.stderr
    d = json.loads(p.stdout)
    assert not d["build_differs"] and not d["mixed_causes"]
    fields = [e["field"] for e in d["environment"]]
    assert not [f for f in fields if f.startswith("build")], fields
    libc_fns = set(host["environment"]["build"]["libc_functions"])
    assert not [f for f in fields if f.removeprefix("feature ") in libc_fns], fields
    # closefrom is a libc file action: the same on both kernels, never
    # "newly skipped" because a lookup failed.
    ca = {(o["case"], o["backend"]): o for o in d["outcomes"]}
    assert not [k for k in ca if k[0] == "fd/closefrom"], ca


def test_other_libc_is_that_suites_and_pidfd_spawn_is_judged(cols):
    doc = cols[LIBC]
    build = doc["environment"]["build"]
    cache = Path(os.environ.get("SPAWNLAB_CACHE", Path.home() / ".cache" / "spawnlab"))
    pkgs = (cache / "sysroot" / LIBC / "PACKAGES").read_text().split()
    dev = next(p for p in pkgs if p.startswith("libc6-dev="))
    assert build["linkage"] == "static"
    assert doc["environment"]["libc"]["version"] == re.match(r"libc6-dev=(\d+\.\d+)", dev).group(1)
    assert doc["environment"]["libc"]["version"] != cols["host"]["environment"]["libc"]["version"]
    # Where the libc declares pidfd_spawn it is linked in and the backend is
    # judged on every case that names it, like the others.
    has = build["libc_functions"]["pidfd_spawn"] == "linked"
    feats = {f["name"]: f["state"] for f in doc["environment"]["features"]}
    assert feats["pidfd_spawn"] == ("yes" if has else "no"), feats["pidfd_spawn"]
    units = [u for c in doc["cases"] for u in c["backends"] if u["backend"] == "pidfd_spawn"
             and not (u["outcome"] == "skip" and u["reason"].startswith("backend not in this case"))]
    assert units
    judged = [u for u in units if u["outcome"] != "skip"]
    if has:
        assert len(judged) == len(units) and len(judged) >= 25, [u["reason"] for u in units if u not in judged]
    else:
        assert not judged


def _differing_outcomes(docs):
    """{(case, backend)} whose outcome differs between two of DOCS that ran it."""
    seen = {}
    for d in docs:
        for c in d["cases"]:
            for u in c["backends"]:
                if not (u["outcome"] == "skip" and u["reason"].startswith("backend not in this case")):
                    seen.setdefault((c["id"], u["backend"]), set()).add(u["outcome"])
    return {k for k, v in seen.items() if len(v) > 1}


def test_history_lists_exactly_the_differences(matrix, cols):
    out, _ = matrix
    h = json.loads((out / "history.json").read_text())
    series = {s["name"]: s for s in h["series"]}
    assert set(series) == {"kernel", "libc"}
    members = {"kernel": ["host", f"linux-{KERNEL_SUITE}"], "libc": ["host", LIBC]}
    for name, s in series.items():
        docs = [cols[m] for m in members[name]]
        want = _differing_outcomes(docs)
        got = {(r["key"][1], r["key"][2]) for r in s["rows"] if r["key"][0] == "outcome"}
        assert got == want, (name, got ^ want)
        fa, fb = ({f["name"]: f["state"] for f in d["environment"]["features"]} for d in docs)
        want_f = {n for n in fa if fa[n] != fb.get(n)}
        got_f = {r["key"][1] for r in s["rows"] if r["key"][0] == "feature"}
        assert got_f == want_f, (name, got_f ^ want_f)
        # Same plus different covers every feature both columns probed.
        assert s["same"].get("feature", 0) + len(got_f) == len(set(fa) & set(fb))
        # Two columns: whatever changed, changed in the later one.
        for r in s["rows"]:
            assert r["changed_in"] == [s["columns"][1]], r
    md = (out / "history.md").read_text()
    page = (out / "history.html").read_text()
    assert "## Kernels:" in md and "## Libcs:" in md and "### What changed, version by version" in md
    assert page.count("<svg") >= 1 and "Features probed" in page
    # One file: nothing loaded from elsewhere.
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)=["'](?!#)""", page)


def test_history_refuses_kernel_columns_of_two_builds(matrix, cols, tmp_path):
    """A dynamic build on one kernel and a static one on another: the
    history will not call their differences the kernel's, and diff warns
    (or, with --same-build, refuses)."""
    out, _ = matrix
    other = copy.deepcopy(cols[f"linux-{KERNEL_SUITE}"])
    other["environment"]["build"]["linkage"] = "dynamic"
    other["environment"]["build"]["libc_functions"]["posix_spawn_file_actions_addclosefrom_np"] = "dlsym"
    del other["column"]
    host = copy.deepcopy(cols["host"])
    del host["column"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "result.json").write_text(json.dumps(host))
    (tmp_path / "b" / "result.json").write_text(json.dumps(other))
    p = script("history", "--no-charts", "--out", tmp_path / "h", tmp_path / "a", tmp_path / "b")
    assert p.returncode == 2 and "no series" in p.stderr, p.stderr
    # Declared as kernel columns (as scripts/matrix does), the mixed builds are refused.
    host["column"] = {"label": "a", "series": ["kernel"]}
    other["column"] = {"label": "b", "series": ["kernel"]}
    (tmp_path / "a" / "result.json").write_text(json.dumps(host))
    (tmp_path / "b" / "result.json").write_text(json.dumps(other))
    p = script("history", "--no-charts", "--out", tmp_path / "h", tmp_path / "a", tmp_path / "b")
    assert p.returncode == 2 and "not one build" in p.stderr, p.stderr
    p = script("history", "--no-charts", "--allow-mixed-builds", "--out", tmp_path / "h",
               tmp_path / "a", tmp_path / "b")
    assert p.returncode == 0, p.stderr
    p = script("diff", tmp_path / "a", tmp_path / "b")
    assert "WARNING: the kernels AND the builds differ" in p.stdout
    assert "build linkage: static -> dynamic" in p.stdout
    p = script("diff", "--same-build", tmp_path / "a", tmp_path / "b")
    assert p.returncode == 2 and "not the same build" in p.stderr


def test_slim_baselines(matrix, cols, tmp_path):
    out, _ = matrix
    files = sorted((out / "baselines").glob("*.json"))
    assert len(files) == 3
    for f in files:
        assert f.stat().st_size <= 1_000_000
        doc = load(f)
        assert doc["slim"]["dropped"] and all(u["observation"] == {} for c in doc["cases"] for u in c["backends"])
    # A slim baseline compared with its full result: nothing differs.
    for name, doc in cols.items():
        env = doc["environment"]
        kernel = re.match(r"(\d+\.\d+)", env["kernel"]["release"]).group(1)
        slim = out / "baselines" / f"linux-{kernel}-{env['libc']['name']}-{env['libc']['version'].split('-')[0]}.json"
        p = script("diff", "--format", "json", slim, out / name)
        d = json.loads(p.stdout)
        assert p.returncode == 0 and not d["outcomes"] and not d["numbers"] and not d["environment"], (name, d)
        # pick finds it for its own result.
        p = script("baselines", "pick", "--dir", out / "baselines", out / name)
        assert p.returncode == 0 and Path(p.stdout.strip()) == slim, (p.stdout, p.stderr)


def test_second_run_downloads_nothing(matrix):
    """The kernel and the libc are in the cache: without any network (a new
    network namespace) they are found again."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a namespace without network")
    for cmd in ([str(SCRIPTS / "debian-kernel"), KERNEL_SUITE],
                [str(SCRIPTS / "libc-sysroot"), *LIBC.split("-", 1)]):
        p = subprocess.run(["unshare", "-n", *cmd], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and Path(p.stdout.strip()).exists(), (cmd, p.stdout, p.stderr)
        assert "unpacking" not in p.stderr and "fetching" not in p.stderr, p.stderr


def test_committed_baselines_are_slim_and_valid():
    files = sorted((ROOT / "reports" / "baselines").glob("*.json"))
    assert files
    names = set()
    for f in files:
        assert f.stat().st_size <= 1_000_000, f
        doc = load(f)
        assert "slim" in doc, f
        names.add(f.name)
    p = script("baselines", "--help")
    assert p.returncode == 0 and "slim" in p.stdout
