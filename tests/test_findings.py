"""Verdicts that can fail.  A known finding is bound to one documented
expectation and backend and states what the machine does instead: the unit
is xfail only when the documented expectation fails and the finding holds;
anything else the machine does is a fail; a documented expectation that
holds again is xpass.  And every case has a positive control: an empty
observation, or one with no fds, fails it (checked for every shipped case by
the parser, and at run time by planting such observations)."""
import glob
import json
import os
import re
import shutil

import pytest

from conftest import ROOT, run, units, validate


def run_cases(tmp_path, cases_dir, text, *args, env=None):
    (cases_dir / "f.case").write_text(text)
    out = tmp_path / "o"
    p = run(["run", "--cases", str(cases_dir.parent), "--out", str(out), *args], env=env)
    assert p.returncode in (0, 1), p.stderr
    return p, validate(json.loads((out / "result.json").read_text()))


# The spawner opens /dev/null at fd 10: the probe sees a character device.
CASE = """case c
desc the documented expectation is a pipe; the machine gives a character device
source man:open.2 (planted by the test)
setup open fd=10 path=/dev/null
expect fd.10 = {documented}
expect pid > 0
finding[fork] fd.10 = {observed}  planted: the machine gives {observed}
"""


def one(doc):
    return units(doc)[("t/c", "fork")]


def test_finding_that_holds_is_xfail(tmp_path, cases_dir):
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="pipe", observed="chr"), "--backend", "fork")
    u = one(doc)
    assert p.returncode == 0
    assert u["outcome"] == "xfail", u["reason"]
    assert u["findings"] == [{"line": 7, "key": "fd.10", "op": "=", "expected": "chr", "actual": "chr",
                              "holds": True, "documented_ok": False}]
    f = doc["cases"][0]["findings"][0]
    assert (f["backends"], f["key"], f["value"]) == (["fork"], "fd.10", "chr")
    assert f["why"].startswith("planted")


def test_machine_answer_other_than_the_finding_is_a_fail(tmp_path, cases_dir):
    """The finding says 'socket'; the machine says 'chr': that is a change,
    and it must turn the run red."""
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="pipe", observed="socket"), "--backend", "fork")
    u = one(doc)
    assert p.returncode == 1
    assert u["outcome"] == "fail"
    assert "expected fd.10 = pipe, got chr" in u["reason"]
    assert "not the known finding either" in u["reason"] and "fd.10 = socket" in u["reason"]
    assert u["findings"][0]["holds"] is False and u["findings"][0]["actual"] == "chr"


def test_documented_expectation_that_holds_again_is_xpass(tmp_path, cases_dir):
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="chr", observed="pipe"), "--backend", "fork")
    u = one(doc)
    assert p.returncode == 0
    assert u["outcome"] == "xpass" and "no longer reproduces" in u["reason"]
    assert u["findings"][0]["documented_ok"] is True


def test_finding_covers_only_its_own_expectation(tmp_path, cases_dir):
    """Another expectation failing is a fail, even while the finding holds."""
    text = CASE.format(documented="pipe", observed="chr").replace("expect pid > 0", "expect pid < 0")
    p, doc = run_cases(tmp_path, cases_dir, text, "--backend", "fork")
    u = one(doc)
    assert p.returncode == 1 and u["outcome"] == "fail"
    assert "expected pid < 0" in u["reason"]


def test_finding_covers_only_its_own_backend(tmp_path, cases_dir):
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="pipe", observed="chr"), "--backend", "fork,vfork")
    u = units(doc)
    assert u[("t/c", "fork")]["outcome"] == "xfail"
    assert u[("t/c", "vfork")]["outcome"] == "fail" and u[("t/c", "vfork")]["findings"] == []
    assert p.returncode == 1


def test_finding_for_another_libc_does_not_apply(tmp_path, cases_dir):
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="pipe", observed="chr"), "--backend", "fork")
    libc = doc["environment"]["libc"]["name"]
    other = "musl" if libc == "glibc" else "glibc"
    text = CASE.format(documented="pipe", observed="chr").replace("finding[fork]", f"finding[fork libc={other}]")
    p, doc = run_cases(tmp_path, cases_dir, text, "--backend", "fork")
    assert one(doc)["outcome"] == "fail" and p.returncode == 1
    text = CASE.format(documented="pipe", observed="chr").replace("finding[fork]", f"finding[fork libc={libc}]")
    p, doc = run_cases(tmp_path, cases_dir, text, "--backend", "fork")
    assert one(doc)["outcome"] == "xfail" and p.returncode == 0


def test_finding_bounded_by_a_libc_version(tmp_path, cases_dir):
    """libc=NAME<VERSION binds a finding to the versions before VERSION:
    a fixed libc is not asked to reproduce it."""
    p, doc = run_cases(tmp_path, cases_dir, CASE.format(documented="pipe", observed="chr"), "--backend", "fork")
    libc = doc["environment"]["libc"]["name"]
    base = CASE.format(documented="pipe", observed="chr")
    for bound, applies in (("<99", True), (">=0.1", True), ("<0.1", False), (">=99", False)):
        text = base.replace("finding[fork]", f"finding[fork libc={libc}{bound}]")
        p, doc = run_cases(tmp_path, cases_dir, text, "--backend", "fork")
        want = "xfail" if applies else "fail"
        assert one(doc)["outcome"] == want, (bound, one(doc)["reason"])
        assert doc["cases"][0]["findings"][0]["libc"] == f"{libc}{bound}"


def test_finding_bounded_by_the_kernel_release(tmp_path, cases_dir):
    """kernel<RELEASE binds a finding to older kernels (a behaviour a later
    kernel changed): read against this machine's release, numerically."""
    release = os.uname().release
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", release).groups())
    base = CASE.format(documented="pipe", observed="chr")
    for bound, applies in ((f"<{major + 1}", True), (f">={major}.{minor}", True), (f"<{major}.{minor}", False),
                           (f">={major + 1}.0", False)):
        text = base.replace("finding[fork]", f"finding[fork kernel{bound}]")
        p, doc = run_cases(tmp_path, cases_dir, text, "--backend", "fork")
        want = "xfail" if applies else "fail"
        assert one(doc)["outcome"] == want, (bound, release, one(doc)["reason"])
        assert doc["cases"][0]["findings"][0]["kernel"] == bound


# ---- positive controls, planted -----------------------------------------

# Representative of every family and every kind of expectation; the parser
# checks the same property statically for every shipped case (test_parser's
# test_all_shipped_cases_parse loads them all).
# The set leaves out the cases that take seconds to wrap pids, to time
# spawns, to race fds (fd/budget_*) or to signal hundreds of spawns
# (libc/handler_never_in_child): the plant replaces the observation only
# after the unit has run, and their kinds of expectation are in the cheap
# ones named here.
PLANT_SET = ["exec", "fd/[!b]*", "libc/[!h]*", "libc/handled_*", "pidwrap/*_ns_last_pid", "pidwrap/*_set_tid",
             "pidwrap/pdspawn_api", "cost/spawn_static", "eintr/pipe_read_*", "eintr/sleep_*",
             "sigchld/barrier_*_10", "sigchld/exec_*_1", "clone", "pidns/set_tid_*",
             "pidns/pid_max_outer_caps_inner", "pidns/fork_after_init_exit", "pidfd/get_info_*",
             "pidfd/waitid_stopped", "threads/leader_exits_first"]
# The no-fds plant matters only where a case asserts a closed fd: it runs
# the case files with an `expect fd.N = closed` line, a template's
# (`expect[variant=...]`) included, found in the files themselves.
CLOSED_FD = re.compile(r"^expect(\[[^]]*\])?\s+fd\.\d+\s+=\s+closed\b", re.M)


def closed_fd_files():
    """cases/FAMILY/FILE.case paths (relative to cases/) that expect a closed fd."""
    return sorted(os.path.relpath(p, ROOT / "cases") for p in glob.glob(str(ROOT / "cases" / "*" / "*.case"))
                  if CLOSED_FD.search(open(p).read()))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    docs = {}
    for mode in ("empty", "nofds"):
        out = tmp_path_factory.mktemp("plant-" + mode)
        args = PLANT_SET
        if mode == "nofds":
            cases = out / "cases"
            for rel in closed_fd_files():
                (cases / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / "cases" / rel, cases / rel)
            args = ["--cases", str(cases)]
        p = run(["run", "--out", str(out), *args], timeout=600, env=dict(os.environ, SPAWNLAB_PLANT=mode))
        assert p.returncode in (0, 1), p.stderr
        docs[mode] = validate(json.loads((out / "result.json").read_text()))
        assert docs[mode]["run"]["planted"] == mode
    return docs


def test_empty_observation_fails_every_unit(planted):
    doc = planted["empty"]
    judged = [(c["id"], u["backend"], u["outcome"]) for c in doc["cases"] for u in c["backends"]
              if u["outcome"] not in ("skip", "error")]
    assert len(judged) > 300
    assert [j for j in judged if j[2] != "fail"] == []


def test_no_fds_fails_every_case_that_asserts_a_closed_fd(planted):
    doc = planted["nofds"]
    checked = 0
    for c in doc["cases"]:
        for u in c["backends"]:
            closed = [e for e in u["expectations"] if e["key"].startswith("fd.") and e["expected"] == "closed"]
            if closed and u["outcome"] not in ("skip", "error"):
                assert u["outcome"] == "fail", (c["id"], u["backend"])
                checked += 1
    assert checked > 100


def test_nofds_run_has_every_file_that_expects_a_closed_fd(planted):
    """The files the no-fds run took are those of exec, fd and libc that
    say so (fd/calls.case through its template), and each gave cases."""
    files = closed_fd_files()
    assert {"exec/fds.case", "fd/calls.case", "fd/flags.case", "libc/posix_spawn.case"} <= set(files), files
    ran = {os.path.join(os.path.basename(os.path.dirname(c["file"])), os.path.basename(c["file"]))
           for c in planted["nofds"]["cases"]}
    assert ran == set(files)
