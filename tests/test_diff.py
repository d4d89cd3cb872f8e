"""scripts/diff: nothing for a result diffed with itself; a planted regression,
fix, skip, removal, environment change and moved number are each found."""
import copy
import json
import subprocess

import pytest

from conftest import ROOT, run_json

DIFF = ROOT / "scripts" / "diff"


def diff(a, b, *args):
    return subprocess.run(["/usr/bin/python3", str(DIFF), str(a), str(b), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    _, doc = run_json(tmp, "exec", "cost")
    return tmp / "out" / "result.json", doc


def write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def passing_unit(doc):
    """(case index, unit index) of the first passing unit."""
    for i, c in enumerate(doc["cases"]):
        for j, u in enumerate(c["backends"]):
            if u["outcome"] == "pass":
                return i, j
    pytest.fail("no passing unit in the real result")


def as_json(a, b, *args):
    p = diff(a, b, "--format", "json", *args)
    return p.returncode, json.loads(p.stdout)


def test_identical_results_report_nothing(real):
    src, _ = real
    for fmt in ("text", "markdown"):
        p = diff(src, src, "--format", fmt)
        assert p.returncode == 0, p.stderr
        assert "no differences beyond the noise band" in p.stdout and "REGRESSION" not in p.stdout
    rc, d = as_json(src, src, "--all-numbers", "--noise", "0")
    assert rc == 0
    assert (d["environment"], d["outcomes"], d["numbers"], d["cases_added"], d["cases_removed"],
            d["regressions"]) == ([], [], [], [], [], 0)


def test_planted_regression_is_found_and_fails(real, tmp_path):
    src, doc = real
    i, j = passing_unit(doc)
    bad = copy.deepcopy(doc)
    u = bad["cases"][i]["backends"][j]
    u.update(outcome="fail", reason="planted: line 9: want 1, got 2")
    bad["cases"][i]["outcome"] = "fail"
    b = write(tmp_path, "b.json", bad)
    cid, be = doc["cases"][i]["id"], u["backend"]
    p = diff(src, b)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"REGRESSION {cid} {be}: pass to fail: planted: line 9" in p.stdout
    md = diff(src, b, "--format", "markdown")
    assert md.returncode == 1 and f"REGRESSION `{cid}` {be}: pass to fail" in md.stdout
    rc, d = as_json(src, b)
    assert rc == 1 and d["regressions"] == 1
    assert d["outcomes"] == [{"case": cid, "backend": be, "a": "pass", "b": "fail", "change": "pass to fail",
                              "regression": True, "reason": "planted: line 9: want 1, got 2"}]
    # The other way round it is a fix, not a regression.
    rc, d = as_json(b, src)
    assert rc == 0 and d["outcomes"][0]["change"] == "fixed" and not d["outcomes"][0]["regression"]


def test_skip_and_removed_case_regress_only_when_strict(real, tmp_path):
    src, doc = real
    i, j = passing_unit(doc)
    new = copy.deepcopy(doc)
    new["cases"][i]["backends"][j].update(outcome="skip", reason="planted: feature absent")
    gone = new["cases"].pop(-1 if i != len(new["cases"]) - 1 else 0)
    b = write(tmp_path, "b.json", new)
    rc, d = as_json(src, b)
    assert rc == 0 and d["cases_removed"] == [gone["id"]]
    assert [o["change"] for o in d["outcomes"] if o["case"] == doc["cases"][i]["id"]] == ["newly skipped"]
    rc, d = as_json(src, b, "--strict")
    assert rc == 1 and d["regressions"] == 2
    rc, d = as_json(b, src)  # seen from the other side: a new case
    assert rc == 0 and d["cases_added"] == [gone["id"]]


def test_environment_difference_comes_first(real, tmp_path):
    src, doc = real
    other = copy.deepcopy(doc)
    other["environment"]["kernel"]["release"] = "6.99.0-planted"
    other["environment"]["libc"]["version"] = "9.99"
    p = diff(src, write(tmp_path, "b.json", other))
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[2] == "environment:"
    assert f'  kernel release: {doc["environment"]["kernel"]["release"]} -> 6.99.0-planted' in lines
    assert f'  libc: glibc {doc["environment"]["libc"]["version"]} -> glibc 9.99' in lines \
        or doc["environment"]["libc"]["name"] != "glibc"


def test_numbers_beyond_the_noise_band_only(real, tmp_path):
    src, doc = real
    i, j = next((i, j) for i, c in enumerate(doc["cases"]) for j, u in enumerate(c["backends"])
                if u["numbers"].get("reaped_median_us"))
    moved = copy.deepcopy(doc)
    n = moved["cases"][i]["backends"][j]["numbers"]
    base = n["reaped_median_us"]
    n["reaped_median_us"] = base * 2
    n["reaped_min_us"] = n["reaped_min_us"] * 1.1  # inside the default 20% band
    b = write(tmp_path, "b.json", moved)
    rc, d = as_json(src, b)
    assert rc == 0  # numbers inform; they do not fail the run
    assert [(x["key"], x["change_pct"]) for x in d["numbers"]] == [("num.reaped_median_us", 100.0)]
    rc, d = as_json(src, b, "--noise", "5")
    assert sorted(x["key"] for x in d["numbers"]) == ["num.reaped_median_us", "num.reaped_min_us"]
    rc, d = as_json(src, b, "--floor", str(base * 2))
    assert d["numbers"] == []
    rc, d = as_json(src, b, "--ignore", "num.reaped_*")
    assert d["numbers"] == []


def test_bad_input_exits_2(real, tmp_path):
    src, doc = real
    broken = copy.deepcopy(doc)
    del broken["environment"]
    p = diff(src, write(tmp_path, "b.json", broken))
    assert p.returncode == 2 and "not a spawnlab result" in p.stderr and p.stdout == ""
    p = diff(src, tmp_path / "missing.json")
    assert p.returncode == 2 and "cannot read" in p.stderr


def test_help():
    p = subprocess.run(["/usr/bin/python3", str(DIFF), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "--noise" in p.stdout and "Exit status" in p.stdout
