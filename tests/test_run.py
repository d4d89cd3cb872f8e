"""spawnlab run: every backend spawns and reports, outcomes, exit codes,
TAP shape, the result schema, timeouts and leftovers."""
import json
import os
import re
import time

import pytest

from conftest import run, run_json, units, available_backends, backends, features, our_processes, validate


def test_exec_family_passes_and_validates(tmp_path):
    p, doc = run_json(tmp_path, "exec")
    assert p.returncode == 0, p.stderr + json.dumps(
        [(c["id"], [(u["backend"], u["reason"]) for u in c["backends"] if u["outcome"] != "pass"])
         for c in doc["cases"] if c["outcome"] not in ("pass", "skip")], indent=1)
    assert doc["complete"] is True
    assert doc["summary"]["cases"] == doc["summary"]["run"] == len(doc["cases"]) >= 12
    assert doc["summary"]["fail"] == doc["summary"]["error"] == 0
    for c in doc["cases"]:
        assert c["id"].startswith("exec/")
        assert c["sources"], c["id"]


def test_every_available_backend_spawns_the_probe_and_it_reports(tmp_path):
    p, doc = run_json(tmp_path, "exec/stdio_only", "exec/pid_relations")
    assert p.returncode == 0
    u = units(doc)
    avail = available_backends()
    assert {u["backend"] for c in doc["cases"] for u in c["backends"]} == set(backends())
    for b in avail:
        unit = u[("exec/pid_relations", b)]
        assert unit["outcome"] == "pass", unit["reason"]
        obs = unit["observation"]
        assert obs["probe.end"] == "1"
        assert int(obs["pid"]) > 1 and obs["pid"] == obs["child.pid"]
        assert obs["ppid"] == obs["spawner.pid"]
        assert obs["exit.code"] == "0"
        assert unit["numbers"]["spawn_us"] >= 0
        # Each expectation was really compared, and met.
        assert unit["expectations"] and all(e["ok"] for e in unit["expectations"])
    # A backend hands back a pidfd exactly when it promises to (trait pidfd).
    traits = {b["name"]: b["traits"] for b in doc["environment"]["backends"]}
    for b in avail:
        want = "yes" if "pidfd" in traits[b] else "no"
        assert u[("exec/pid_relations", b)]["observation"]["child.pidfd"] == want, b


def test_unavailable_backend_is_a_skip_with_reason(tmp_path):
    _, doc = run_json(tmp_path, "exec/stdio_only")
    avail = set(available_backends())
    for (cid, b), unit in units(doc).items():
        if b not in avail:
            assert unit["outcome"] == "skip"
            assert "unavailable" in unit["reason"]


def test_pdspawn_differs_from_classic_where_it_promises(tmp_path):
    _, doc = run_json(tmp_path, "exec/plain_fd_inherited", "exec/ignored_signal_stays_ignored",
                      "exec/sigmask_kept", "exec/exec_enoent")
    u = units(doc)
    assert u[("exec/plain_fd_inherited", "fork")]["observation"]["fd.10"] == "chr"
    assert "fd.10" not in u[("exec/plain_fd_inherited", "pdspawn")]["observation"]
    assert u[("exec/ignored_signal_stays_ignored", "fork")]["observation"]["sig.SIGUSR1"] == "ignore"
    assert u[("exec/ignored_signal_stays_ignored", "pdspawn")]["observation"]["sig.SIGUSR1"] == "default"
    assert u[("exec/sigmask_kept", "posix_spawn")]["observation"]["sigmask"] == "SIGHUP,SIGUSR2"
    assert u[("exec/sigmask_kept", "pdspawn")]["observation"]["sigmask"] == "none"
    assert u[("exec/exec_enoent", "fork")]["observation"]["exit.code"] == "127"
    assert u[("exec/exec_enoent", "pdspawn")]["observation"]["spawn.errno"] == "ENOENT"


def write_case(d, name, body):
    f = d / f"{name}.case"
    f.write_text(body)
    return f


def test_a_failing_expectation_fails_with_exit_1_and_says_why(tmp_path, cases_dir):
    write_case(cases_dir, "f", "case wrong\ndesc a deliberately wrong expectation\n"
               "source this test\nsetup open fd=10 path=/dev/null\nexpect fd.10 = pipe\n")
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--backend", "fork,pdspawn", "--out", str(out)])
    assert p.returncode == 1
    doc = validate(json.loads((out / "result.json").read_text()))
    u = units(doc)
    assert u[("t/wrong", "fork")]["outcome"] == "fail"
    assert "expected fd.10 = pipe, got chr" in u[("t/wrong", "fork")]["reason"]
    assert "got closed" in u[("t/wrong", "pdspawn")]["reason"]
    assert "FAIL" in p.stdout and "t/wrong" in p.stdout


def test_broken_setup_is_an_error_not_a_pass(tmp_path, cases_dir):
    write_case(cases_dir, "b", "case broken\ndesc set-up that cannot work\nsource this test\n"
               "setup open fd=10 path=/nonexistent/dir/file\nexpect fd.10 = closed\nexpect fds = 0,1,2\n")
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--backend", "fork", "--out", str(out)])
    assert p.returncode == 1
    doc = validate(json.loads((out / "result.json").read_text()))
    unit = units(doc)[("t/broken", "fork")]
    assert unit["outcome"] == "error"
    assert "set-up broke" in unit["reason"] and "b.case:4" in unit["reason"]


def test_missing_feature_is_a_skip(tmp_path, cases_dir):
    p = run(["features"])
    missing = [l.split()[0] for l in p.stdout.splitlines() if l.split()[1] != "yes"]
    if not missing:
        pytest.skip("every feature is present on this kernel")
    write_case(cases_dir, "n", f"case needs_it\ndesc needs a missing feature\nsource this test\n"
               f"needs {missing[0]}\nexpect pid > 0\n")
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--out", str(out)])
    assert p.returncode == 0
    doc = validate(json.loads((out / "result.json").read_text()))
    assert doc["cases"][0]["outcome"] == "skip"
    for unit in doc["cases"][0]["backends"]:
        assert unit["outcome"] == "skip" and unit["reason"]


def test_tap_output_shape(tmp_path):
    p = run(["run", "exec", "--format", "tap", "--out", str(tmp_path / "o")])
    assert p.returncode == 0, p.stdout
    doc = validate(json.loads((tmp_path / "o" / "result.json").read_text()))
    lines = p.stdout.splitlines()
    assert lines[0] == "TAP version 13"
    m = re.fullmatch(r"1\.\.(\d+)", lines[1])
    assert m
    n = int(m.group(1))
    top = [l for l in lines if re.match(r"^(not )?ok \d+ ", l)]
    assert len(top) == n
    assert [int(l.split()[1 if l.startswith("ok") else 2]) for l in top] == list(range(1, n + 1))
    assert not any(l.startswith("not ok") for l in top)
    sub = [l for l in lines if re.match(r"^    (not )?ok \d+ ", l)]
    # One subtest per unit: a backend a case does not name has no unit.
    assert len(sub) == sum(len(c["backends"]) for c in doc["cases"])
    plans = [int(l.split("..")[1]) for l in lines if re.match(r"^    1\.\.\d+$", l)]
    assert plans == [len(c["backends"]) for c in doc["cases"]]
    for l in sub:
        if "# SKIP" in l:
            assert re.search(r"# SKIP \S", l), l
    assert sum(1 for l in lines if l == "    KTAP version 1") == n
    assert re.fullmatch(r"# Totals: pass:\d+ fail:0 xfail:0 xpass:0 skip:\d+ error:0", lines[-1])


def test_tap_reports_failure_as_not_ok(tmp_path, cases_dir):
    write_case(cases_dir, "f", "case wrong\ndesc wrong on purpose\nsource this test\nexpect pid = 1\n")
    p = run(["run", "--cases", str(cases_dir.parent), "--format", "tap", "--backend", "fork",
             "--out", str(tmp_path / "o")])
    assert p.returncode == 1
    assert "not ok 1 t/wrong" in p.stdout.splitlines()
    assert "    not ok 1 fork" in p.stdout.splitlines()
    assert re.search(r"^    # fork: failed: line 4: expected pid = 1, got \d+$", p.stdout, re.M)


def test_text_output_progress_and_summary(tmp_path, cases_dir):
    """Progress lines and a summary whose counts are the result's, with a
    skipped case among them so that the skip count is really checked."""
    missing = [f for f, state in features().items() if state != "yes"]
    if not missing:
        pytest.skip("every feature is present here: no case can be skipped for a missing one")
    write_case(cases_dir, "s", "case a_runs\ndesc runs\nsource this test\nexpect pid > 0\n"
               f"case b_skips\ndesc needs a missing feature\nsource this test\nneeds {missing[0]}\nexpect pid > 0\n")
    p = run(["run", "--cases", str(cases_dir.parent), "--backend", "fork,posix_spawn", "--out", str(tmp_path / "o")])
    assert p.returncode == 0, p.stdout
    doc = validate(json.loads((tmp_path / "o" / "result.json").read_text()))
    assert re.search(r"^\[1/2\] PASS\s+t/a_runs", p.stdout, re.M), p.stdout
    assert re.search(r"^\[2/2\] SKIP\s+t/b_skips", p.stdout, re.M), p.stdout
    s = doc["summary"]
    assert (s["pass"], s["fail"], s["skip"]) == (1, 0, 1), s
    assert re.search(r"^2 cases in [\d.]+ s: 1 passed, 0 failed, 1 skipped", p.stdout, re.M), p.stdout
    assert f"result: {tmp_path}/o/result.json" in p.stdout


def test_hanging_child_and_hanging_setup_are_killed_and_run_goes_on(tmp_path, cases_dir):
    write_case(cases_dir, "h", "case child_hangs\ndesc the probe sleeps past the timeout\nsource this test\n"
               "spawn sleep=60000\nexpect pid > 0\n"
               "case setup_hangs\ndesc a set-up step sleeps past the timeout\nsource this test\n"
               "setup sleep ms=60000\nexpect pid > 0\n"
               "case after\ndesc runs after the hangs\nsource this test\nexpect pid > 0\n")
    before = our_processes()
    t0 = time.monotonic()
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--timeout", "2", "--backend", "fork,pdspawn",
             "--out", str(out)], timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 1
    doc = validate(json.loads((out / "result.json").read_text()))
    u = units(doc)
    for b in ("fork", "pdspawn"):
        assert u[("t/child_hangs", b)]["outcome"] == "fail"
        assert "did not exit" in u[("t/child_hangs", b)]["reason"]
        assert u[("t/setup_hangs", b)]["outcome"] == "fail"
        assert "timed out after 2 s" in u[("t/setup_hangs", b)]["reason"]
        assert u[("t/after", b)]["outcome"] == "pass"
    assert took < 30, took  # bounded: 4 hanging units at 2 s each, not 60 s
    assert our_processes() == before


# Every family and every kind of child through the sanitizers: probes,
# experiments that leave thousands of children, helpers stopped with
# SIGSTOP, user namespaces.  (The whole suite would do too, but takes many
# minutes under a sanitizer; make test checks the same on its default run.)
EVERY_FAMILY = ["exec", "cost", "libc", "pidwrap", "fd/*_plain", "sigchld/barrier_*_1000",
                "sigchld/exec_*", "eintr/*_stopcont", "eintr/*_sigchld", "clone", "pidns", "pidfd", "threads"]


@pytest.mark.sanitizer_build
def test_no_process_left_after_run_of_every_family(tmp_path):
    before = our_processes()
    p = run(["run", "--out", str(tmp_path / "o"), *EVERY_FAMILY], timeout=900)
    assert p.returncode == 0, p.stdout[-3000:]
    assert {c["family"] for c in json.loads((tmp_path / "o" / "result.json").read_text())["cases"]} == \
        {"exec", "cost", "libc", "pidwrap", "fd", "sigchld", "eintr", "clone", "pidns", "pidfd", "threads"}
    time.sleep(0.2)
    assert our_processes() == before


def test_result_goes_to_default_folder(tmp_path):
    # Without --out the result lands in reports/runs/<timestamp>/result.json.
    p = run(["run", "exec/stdio_only"])
    assert p.returncode == 0
    m = re.search(r"^result: (.*/reports/runs/\d{8}T\d{6}Z(-\d+)?/result\.json)$", p.stdout, re.M)
    assert m, p.stdout
    doc = validate(json.loads(open(m.group(1)).read()))
    assert [c["id"] for c in doc["cases"]] == ["exec/stdio_only"]
    os.remove(m.group(1))
    os.remove(os.path.join(os.path.dirname(m.group(1)), "junit.xml"))  # written beside it
    os.rmdir(os.path.dirname(m.group(1)))


def test_groups_are_the_backends_with_the_trait(tmp_path, cases_dir):
    """expect[descriptor|classic|pidfd|file_actions] applies to the backends
    whose traits say so, whatever their names."""
    write_case(cases_dir, "g", "case g\ndesc groups\nsource this test\nexpect pid > 0\n"
               "expect[descriptor] ppid > 0\nexpect[classic] ppid >= 1\nexpect[pidfd] child.pidfd = yes\n"
               "expect[file_actions] spawn.errno = 0\n")
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--out", str(out)])
    doc = validate(json.loads((out / "result.json").read_text()))
    traits = {b["name"]: set(b["traits"]) for b in doc["environment"]["backends"]}
    for u in doc["cases"][0]["backends"]:
        if u["outcome"] == "skip":
            continue
        keys = [e["key"] + (e["op"] if e["key"] == "ppid" else "") for e in u["expectations"]]
        t = traits[u["backend"]]
        want = ["pid", "ppid>" if "exact_fds" in t else "ppid>="] + (["child.pidfd"] if "pidfd" in t else []) + \
            (["spawn.errno"] if "file_actions" in t else [])
        assert sorted(keys) == sorted(want), (u["backend"], keys)
        assert u["outcome"] == "pass", u["reason"]
    assert p.returncode == 0


def test_a_backend_the_case_does_not_name_gets_no_unit(tmp_path, cases_dir):
    """'backends fork' makes one unit, not a fork unit and five skips; and
    'backends none' makes one unit on no backend for an experiment that
    makes its own children."""
    write_case(cases_dir, "n", "case named\ndesc one backend\nsource this test\nbackends fork\nexpect pid > 0\n"
               "case independent\ndesc no backend\nsource this test\nbackends none\n"
               "run clone_share row=vm share=yes\nexpect child.exit = 0\n")
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--out", str(out)])
    doc = validate(json.loads((out / "result.json").read_text()))
    by = {c["id"]: [(u["backend"], u["outcome"]) for u in c["backends"]] for c in doc["cases"]}
    assert by == {"t/named": [("fork", "pass")], "t/independent": [("none", "pass")]}, by
    assert p.returncode == 0
    assert doc["summary"]["skip"] == 0
