"""pid namespaces nested in a private one (cases/pidns): set_tid at several
levels and its capabilities, nested pid_max, fork after init, immediate pid
reuse.  The host's pid_max is never written and nothing is left running."""
from pathlib import Path

import pytest

from conftest import BUILD, features, run_json, subset, units

HOST_PID_MAX = Path("/proc/sys/kernel/pid_max")
NEEDS = {"pidns/pid_max_outer_caps_inner": "namespaced_pid_max", "pidns/pid_not_reused_at_once": "namespaced_pid_max"}


@pytest.fixture(scope="module")
def result(default_run):
    """The family from the session's default run, with the host's pid_max
    read before and after that run and the processes it left (none)."""
    return (default_run.proc, subset(default_run.doc, "pidns/*"), default_run.pid_max_before,
            default_run.pid_max_after, [], default_run.left)


def test_family_passes_or_skips_and_leaves_the_host_alone(result):
    p, doc, before, after, procs_before, procs_after = result
    assert after == before, f"HOST pid_max changed: {before!r} -> {after!r}"
    assert procs_after == procs_before
    assert p.returncode == 0
    feats = features()
    for c in doc["cases"]:
        u = next(x for x in c["backends"] if x["backend"] == "none")
        need = NEEDS.get(c["id"], "clone3_set_tid" if "set_tid" in c["id"] else None)
        if need and feats.get(need) != "yes":
            assert u["outcome"] == "skip" and need in u["reason"], (c["id"], u["reason"])
        else:
            assert u["outcome"] == "pass", (c["id"], u["reason"])


def test_pids_at_each_level(result):
    _, doc, *_ = result
    u = units(doc)
    unit = u[("pidns/set_tid_levels", "none")]
    if unit["outcome"] != "pass":
        pytest.skip(unit["reason"])
    o = unit["observation"]
    assert o["nspid.self"] == o["nspid.outer"] == "555 333"
    assert u[("pidns/set_tid_outer", "none")]["observation"]["settid.retry_pid"] == "555"
    unit = u[("pidns/pid_not_reused_at_once", "none")]
    if unit["outcome"] == "pass":
        o = unit["observation"]
        assert o["num.immediate_reuse"] == "0" and int(o["num.wraps"]) >= 2, o


@pytest.mark.parametrize("scenario,expect", [("caps_none", "expect settid.errno = 0"),
                                             ("init_gone", "expect fork.after_init_exit = 0"),
                                             ("set_tid_levels", "expect nspid.self = 555")])
def test_experiment_can_fail(tmp_path, cases_dir, scenario, expect):
    (cases_dir / "x.case").write_text(
        f"case c\ndesc d\nsource s\nbackends none\nrun pid_ns scenario={scenario}\n{expect}\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    unit = units(doc)[("t/c", "none")]
    if unit["outcome"] == "skip":
        pytest.skip(unit["reason"])
    assert p.returncode == 1 and unit["outcome"] == "fail", unit
