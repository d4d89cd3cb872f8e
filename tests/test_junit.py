"""JUnit XML (issue 23 item 1): every run writes junit.xml beside
result.json, and `--format junit` prints the same document.  It is read
back with a real consumer's parser (Debian's python3-junitparser) and
checked, unit by unit and count by count, against result.json."""
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import SPAWNLAB, run, units, validate

junitparser = pytest.importorskip(
    "junitparser", reason="needs Debian's python3-junitparser: apt-get install -y python3-junitparser")

# Every byte class the writer must survive: markup, quotes, C0 controls,
# DEL, valid UTF-8, invalid UTF-8, a UTF-16 surrogate and U+FFFE.
HOSTILE = b"<b>&\"q' \x01\x1b\x7f \xc3\xa9\xe6\x97\xa5 \xff \xed\xa0\x80 \xef\xbf\xbe end"
# What a reader gets back: the same text, the bytes XML cannot carry shown as \xNN.
HOSTILE_READ = "<b>&\"q' \\x01\\x1b\\x7f \u00e9\u65e5 \\xff \\xed\\xa0\\x80 \\xef\\xbf\\xbe end"


def finding_case(name, finding, why, body):
    """A case carrying a known finding (FINDING: KEY OP VALUE) and WHY."""
    return b"case " + name + b"\ndesc has a known finding\nsource this test\n" + body + \
        b"finding " + finding + b" " + why + b"\n"


def every_outcome_cases():
    """One case per outcome: pass, fail, skip, error, xfail, xpass."""
    plain = lambda name, body: b"case " + name + b"\ndesc " + name + b"\nsource this test\n" + body
    return b"\n".join([
        plain(b"passes", b"expect pid > 0\n"),
        plain(b"fails", b"setup open fd=10 path=/dev/null\nexpect fd.10 = pipe\nexpect pid > 0\n"
                        b"expect umask = 0777\n"),
        plain(b"skips", b"backends fork\nexpect pid > 0\n"),
        plain(b"breaks", b"setup open fd=10 path=/nonexistent/dir/file\nexpect pid > 0\n"),
        finding_case(b"known", b"fd.10 != pipe", HOSTILE, b"setup open fd=10 path=/dev/null\nexpect fd.10 = pipe\n"),
        finding_case(b"gone", b"pid = 0", b"a finding that no longer reproduces", b"expect pid > 0\n"),
    ]) + b"\n"


def write_hostile_cases(tmp_path):
    # The case folder's own name is hostile too: it is quoted in failure messages.
    cases = os.path.join(os.fsencode(tmp_path), b"ca<s&e\"s\x01\x1b\xff")
    os.makedirs(os.path.join(cases, b"t"))
    with open(os.path.join(cases, b"t", b"all.case"), "wb") as f:
        f.write(every_outcome_cases())
    return cases


def run_junit(tmp_path, cases, backends):
    out = tmp_path / "o"
    p = subprocess.run([str(SPAWNLAB), "run", "--cases", cases, "--backend", backends, "--format", "junit",
                        "--out", str(out)], capture_output=True, timeout=300)
    doc = validate(json.loads((out / "result.json").read_text()))
    return p, doc, (out / "junit.xml").read_bytes()


def check_schema_shape(root):
    """The element and attribute shape of Jenkins' junit-10.xsd, which
    pytest's xunit2 output follows and GitLab/GitHub reporters accept."""
    assert root.tag == "testsuites"
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    for s in root:
        assert s.tag == "testsuite"
        assert {"name", "tests", "failures", "errors"} <= set(s.attrib)
        for child in s:
            assert child.tag in ("properties", "testcase", "system-out", "system-err"), child.tag
            if child.tag == "properties":
                assert all(p.tag == "property" and set(p.attrib) == {"name", "value"} for p in child)
            if child.tag == "testcase":
                assert set(child.attrib) <= {"name", "classname", "time", "group"}
                assert re.fullmatch(r"\d+(\.\d+)?", child.get("time"))
                for r in child:
                    assert r.tag in ("skipped", "error", "failure", "system-out", "system-err"), r.tag
        assert re.fullmatch(r"\d+(\.\d+)?", s.get("time"))


def as_xml_shows(text):
    """result.json's text as the JUnit writer shows it: control characters
    as \\xNN; the one invalid byte of our folder name (JSON replaced it by
    U+FFFD) as \\xff."""
    return "".join(f"\\x{ord(ch):02x}" if ord(ch) < 0x20 and ch not in "\t\n" or ch == "\x7f" else
                   "\\xff" if ch == "\ufffd" else ch for ch in text)


def expected_failure_lines(case_file_shown, unit):
    return [f"{case_file_shown}:{e['line']}: expected {e['key']} {e['op']} {e['expected']}, got {e['actual']}"
            for e in unit["expectations"] if not e["ok"]]


def test_junit_matches_result_json_for_every_outcome(tmp_path):
    cases = write_hostile_cases(tmp_path)
    p, doc, file_xml = run_junit(tmp_path, cases, "fork,pdspawn,pidfd_spawn")
    assert p.returncode == 1, p.stderr  # a case failed
    assert p.stdout == file_xml, "--format junit and junit.xml differ"
    check_schema_shape(ET.fromstring(file_xml))

    # Positive control: every outcome the mapping covers is really in this run.
    got = {u["outcome"] for u in units(doc).values()}
    assert got == {"pass", "fail", "skip", "error", "xfail", "xpass"}, got

    xml = junitparser.JUnitXml.fromfile(str(tmp_path / "o" / "junit.xml"))
    suites = list(xml)
    assert [s.name for s in suites] == ["t"]
    cases_by_name = {(c.classname, c.name): c for s in suites for c in s}
    expected = units(doc)
    assert len(cases_by_name) == len(expected) == sum(len(c["backends"]) for c in doc["cases"])

    shown_file = "ca<s&e\"s\\x01\\x1b\\xff/t/all.case"
    for (cid, backend), unit in expected.items():
        tc = cases_by_name[("t", f"{cid}/{backend}")]
        assert float(tc.time) == pytest.approx(unit["duration_us"] / 1e6, abs=1e-6)
        res = list(tc.result)
        o = unit["outcome"]
        if o == "pass":
            assert res == [] and not tc.system_out, (cid, backend)
        elif o == "fail":
            lines = expected_failure_lines(shown_file, unit)
            assert len(lines) >= 1
            assert [type(r) for r in res] == [junitparser.Failure]
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            assert res[0].message == lines[0] + more
            assert res[0].text.splitlines() == lines
        elif o == "error":
            assert [type(r) for r in res] == [junitparser.Error]
            assert res[0].message == as_xml_shows(unit["reason"]) and "set-up broke" in res[0].message
        elif o == "skip":
            assert [type(r) for r in res] == [junitparser.Skipped]
            assert res[0].message == unit["reason"] and res[0].type == "spawnlab.skip"
        elif o == "xfail":
            assert [type(r) for r in res] == [junitparser.Skipped]
            assert res[0].type == "spawnlab.xfail"
            assert res[0].message == "known finding (xfail): " + HOSTILE_READ
            (f,) = unit["findings"]
            assert res[0].text.splitlines() == [
                l + f", as the finding at line {f['line']} records (fd.10 != pipe)"
                for l in expected_failure_lines(shown_file, unit)]
        elif o == "xpass":
            assert res == []  # a passed testcase, as pytest reports a non-strict XPASS
            assert tc.system_out == ("known finding no longer reproduces (xpass): a finding that no longer "
                                     "reproduces\n" + unit["reason"])

    # The counts a CI reader shows, against result.json's.
    n = lambda o: sum(1 for u in expected.values() if u["outcome"] in o)
    s = suites[0]
    assert (s.tests, s.failures, s.errors, s.skipped) == (
        len(expected), n({"fail"}), n({"error"}), n({"skip", "xfail"}))
    root = ET.fromstring(file_xml)
    assert (int(root.get("tests")), int(root.get("failures")), int(root.get("errors"))) == (
        len(expected), n({"fail"}), n({"error"}))
    props = {p.name: p.value for p in s.properties()}
    assert props["kernel.release"] == doc["environment"]["kernel"]["release"]
    assert props["libc"] == doc["environment"]["libc"]["name"]
    assert props["backends"] == ",".join(doc["run"]["backends"])
    assert props["complete"] == "yes"


def test_junit_has_one_suite_per_family_with_its_counts(tmp_path):
    out = tmp_path / "o"
    p = run(["run", "exec/stdio_only", "exec/exec_enoent", "fd/open_plain", "--out", str(out)])
    assert p.returncode == 0, p.stdout + p.stderr
    doc = validate(json.loads((out / "result.json").read_text()))
    xml = junitparser.JUnitXml.fromfile(str(out / "junit.xml"))
    for s in xml:
        fam = [c for c in doc["cases"] if c["family"] == s.name]
        assert fam, s.name
        us = [u for c in fam for u in c["backends"]]
        assert s.tests == len(us)
        assert s.skipped == sum(u["outcome"] in ("skip", "xfail") for u in us)
        assert s.failures == s.errors == 0
        assert {c.name for c in s} == {f"{c['id']}/{u['backend']}" for c in fam for u in c["backends"]}
    assert sorted(s.name for s in xml) == sorted({c["family"] for c in doc["cases"]})


def test_interrupted_run_reports_an_error_testcase(tmp_path, cases_dir):
    (cases_dir / "i.case").write_text(
        "case quick\ndesc quick\nsource this test\nexpect pid > 0\n\n"
        "case slow\ndesc slow\nsource this test\nspawn sleep=8000\ntimeout 20\nexpect pid > 0\n")
    out = tmp_path / "o"
    p = subprocess.Popen([str(SPAWNLAB), "run", "--cases", str(cases_dir.parent), "--backend", "fork",
                          "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "cases, sandbox" in p.stdout.readline()
        deadline = time.monotonic() + 20
        while "t/quick" not in p.stdout.readline() and time.monotonic() < deadline:
            pass
        time.sleep(0.3)  # into the slow unit
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 1
    finally:
        p.kill()
        p.communicate()
    doc = validate(json.loads((out / "result.json").read_text()))
    assert doc["complete"] is False and doc["summary"]["run"] == 1
    xml = junitparser.JUnitXml.fromfile(str(out / "junit.xml"))
    byname = {c.name: c for s in xml for c in s}
    assert set(byname) == {"t/quick/fork", "spawnlab/run"}
    (err,) = byname["spawnlab/run"].result
    assert isinstance(err, junitparser.Error)
    assert err.message == "the run was interrupted after 1 of 2 cases; the rest are not in this report"
    root = ET.parse(out / "junit.xml").getroot()
    assert (root.get("tests"), root.get("errors")) == ("2", "1")


def test_format_junit_is_accepted_and_documented():
    p = run(["run", "--format", "xunit"])
    assert p.returncode == 2 and "text, tap, json or junit" in p.stderr
    assert "junit" in run(["--help"]).stdout
    assert "junit" in run(["run", "--help"]).stdout
