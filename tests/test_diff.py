"""scripts/diff: nothing for a result diffed with itself; a planted regression,
fix, skip, removal, environment change and moved number are each found."""
import copy
import json
import subprocess

import pytest

from conftest import ROOT, subset

DIFF = ROOT / "scripts" / "diff"


def diff(a, b, *args):
    return subprocess.run(["/usr/bin/python3", str(DIFF), str(a), str(b), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def real(tmp_path_factory, default_run):
    """The exec and cost families of the session's default run."""
    doc = subset(default_run.doc, "exec/*", "cost/*")
    path = tmp_path_factory.mktemp("real") / "result.json"
    path.write_text(json.dumps(doc))
    return path, doc


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
    assert (d["environment"], d["outcomes"], d["numbers"], d["unstable"], d["cases_added"],
            d["cases_removed"], d["regressions"]) == ([], [], [], [], [], [], 0)


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
                              "regression": True, "reason": "planted: line 9: want 1, got 2",
                              "touches": [f'{x["type"]}:{x["ref"]}' for x in doc["cases"][i]["sources"] if x["type"]]}]
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
    """Plain numbers use --noise; timing medians and minima the wider
    --timing-noise (a symmetric factor); ignored keys never show."""
    _, doc = real
    i, j = next((i, j) for i, c in enumerate(doc["cases"]) for j, u in enumerate(c["backends"])
                if u["numbers"].get("reaped_median_us"))
    doc = copy.deepcopy(doc)  # a tight spread, so that the medians are compared
    for k in ("reaped_iqr_us", "call_iqr_us"):
        doc["cases"][i]["backends"][j]["numbers"][k] = 0
    src = write(tmp_path, "a.json", doc)
    moved = copy.deepcopy(doc)
    n = moved["cases"][i]["backends"][j]["numbers"]
    base = n["reaped_median_us"]
    n["reaped_median_us"] = base * 10  # beyond the default factor of 5
    n["reaped_min_us"] = n["reaped_min_us"] * 2  # inside it
    n["reaped_p99_us"] = n["reaped_p99_us"] * 100  # ignored by default
    n["spawns"] = n["spawns"] * 1.5  # a plain count: beyond the default 20%
    b = write(tmp_path, "b.json", moved)
    rc, d = as_json(src, b)
    assert rc == 0  # numbers inform; they do not fail the run
    assert sorted((x["key"], x["change_pct"]) for x in d["numbers"]) == [
        ("num.reaped_median_us", 900.0), ("num.spawns", 50.0)]
    rc, d = as_json(src, b, "--timing-noise", "50")
    assert sorted(x["key"] for x in d["numbers"]) == ["num.reaped_median_us", "num.reaped_min_us", "num.spawns"]
    rc, d = as_json(src, b, "--noise", "60")
    assert [x["key"] for x in d["numbers"]] == ["num.reaped_median_us"]
    rc, d = as_json(src, b, "--all-numbers")
    assert "num.reaped_p99_us" in [x["key"] for x in d["numbers"]]
    rc, d = as_json(src, b, "--floor", str(base * 10))
    assert d["numbers"] == []
    rc, d = as_json(src, b, "--ignore", "num.reaped_*", "--ignore", "num.spawns")
    assert d["numbers"] == []
    # A number falling tenfold is as far from its reference as one rising so.
    n["reaped_median_us"] = base / 10
    rc, d = as_json(src, write(tmp_path, "c.json", moved))
    assert ("num.reaped_median_us", -90.0) in [(x["key"], x["change_pct"]) for x in d["numbers"]]
    # A median whose IQR exceeds it (a loaded machine) is set aside, and said so.
    n["reaped_iqr_us"] = base
    rc, d = as_json(src, write(tmp_path, "d.json", moved))
    assert "num.reaped_median_us" not in [x["key"] for x in d["numbers"]]
    assert {"case": doc["cases"][i]["id"], "backend": doc["cases"][i]["backends"][j]["backend"],
            "key": "num.reaped_median_us"} in d["unstable"]
    p = diff(src, tmp_path / "d.json")
    assert "not compared:" in p.stdout and "IQR exceeds the median" in p.stdout


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


def test_known_findings_xfail_and_xpass(real, tmp_path):
    """xfail to fail regresses; fail to xfail does not; xpass is listed as a
    change without failing the diff."""
    src, doc = real
    i, j = passing_unit(doc)
    cid, be = doc["cases"][i]["id"], doc["cases"][i]["backends"][j]["backend"]

    def variant(outcome, actual="planted-observed"):
        d = copy.deepcopy(doc)
        u = d["cases"][i]["backends"][j]
        e = u["expectations"][0]
        u.update(outcome=outcome, reason=f"planted {outcome}")
        if outcome.startswith("x"):
            d["cases"][i]["findings"] = [{"line": 99, "backends": [be], "libc": None, "key": e["key"], "op": "=",
                                          "value": "planted-observed", "why": "planted finding"}]
            u["findings"] = [{"line": 99, "key": e["key"], "op": "=", "expected": "planted-observed",
                              "actual": actual, "holds": actual == "planted-observed",
                              "documented_ok": outcome == "xpass"}]
        d["cases"][i].update(outcome=outcome)
        return write(tmp_path, f"{outcome}-{actual}.json", d)

    xfail, fail, xpass = variant("xfail"), variant("fail"), variant("xpass")
    rc, d = as_json(xfail, fail)
    assert rc == 1 and d["outcomes"][0]["change"] == "xfail to fail" and d["outcomes"][0]["regression"]
    rc, d = as_json(fail, xfail)
    assert rc == 0 and d["outcomes"][0]["b"] == "xfail" and not d["outcomes"][0]["regression"]
    rc, d = as_json(xfail, xpass)
    assert rc == 0 and [(o["case"], o["backend"], o["b"]) for o in d["outcomes"]] == [(cid, be, "xpass")]
    assert "no longer reproduces" in d["outcomes"][0]["change"]
    p = diff(xfail, xpass)
    assert p.returncode == 0 and f"{cid} {be}: xfail to xpass" in p.stdout


def test_finding_with_a_changed_observed_value_is_a_change(real, tmp_path):
    """The outcome can stay the same while what the machine does moves (a
    glob or an inequality holds for both): the diff still shows it."""
    src, doc = real
    i, j = passing_unit(doc)
    cid, be = doc["cases"][i]["id"], doc["cases"][i]["backends"][j]["backend"]
    key = doc["cases"][i]["backends"][j]["expectations"][0]["key"]

    def variant(actual, holds):
        d = copy.deepcopy(doc)
        u = d["cases"][i]["backends"][j]
        d["cases"][i]["findings"] = [{"line": 99, "backends": [be], "libc": None, "key": key, "op": "~",
                                      "value": "planted*", "why": "planted finding"}]
        u["findings"] = [{"line": 99, "key": key, "op": "~", "expected": "planted*", "actual": actual,
                          "holds": holds, "documented_ok": False}]
        u.update(outcome="xfail", reason="planted")
        d["cases"][i]["outcome"] = "xfail"
        return write(tmp_path, f"{actual}.json", d)

    a, b = variant("planted-one", True), variant("planted-two", True)
    rc, d = as_json(a, b)
    assert rc == 0 and d["outcomes"] == []
    assert [(f["case"], f["backend"], f["key"], f["a"], f["b"]) for f in d["findings"]] == \
        [(cid, be, key, "planted-one", "planted-two")]
    p = diff(a, b)
    assert "known findings whose observed value changed" in p.stdout
    assert "planted-one (as the finding records) -> planted-two" in p.stdout
    rc, d = as_json(a, a)
    assert d["findings"] == []
