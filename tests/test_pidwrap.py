"""pidwrap: pid reuse forced inside a private pid namespace.  What a stale
pid reaches (the stranger) and what a pidfd reaches (nothing), per
backend, and the host's pid_max left as it was.  The family comes from the
session's default run."""
from pathlib import Path

import pytest

from conftest import ROOT, run, subset, units, available_backends, our_processes

HOST_PID_MAX = Path("/proc/sys/kernel/pid_max")
SCENARIO_CASES = ("pidwrap/stale_kill", "pidwrap/pidfd_open_race", "pidwrap/waitpid_stale",
                  "pidwrap/proc_stale")


def feature(name):
    p = run(["features"])
    assert p.returncode == 0, p.stderr
    for line in p.stdout.splitlines():
        w = line.split()
        if w and w[0] == name:
            return w[1] == "yes"
    raise AssertionError(f"feature {name} not listed")


def failures(doc):
    return [(c["id"], u["backend"], u["reason"]) for c in doc["cases"] for u in c["backends"]
            if u["outcome"] in ("fail", "error")]


@pytest.fixture(scope="module")
def family(default_run):
    """The family from the default run; the host's pid_max read before and
    after that run."""
    return (default_run.proc, subset(default_run.doc, "pidwrap/*"), default_run.pid_max_before,
            default_run.pid_max_after)


def test_family_passes_and_host_pid_max_unchanged(family):
    p, doc, before, after = family
    assert after == before, f"HOST pid_max changed: {before!r} -> {after!r}"
    assert not failures(doc), failures(doc)
    assert doc["complete"] is True
    ids = {c["id"] for c in doc["cases"]}
    for cid in ("pidwrap/wrap_400", "pidwrap/zombie_not_reused", "pidwrap/pdspawn_api") + SCENARIO_CASES:
        assert cid in ids
    for c in doc["cases"]:
        assert c["sources"], c["id"]


def test_wrap_reuses_a_pid_on_every_backend(family):
    _, doc, _, _ = family
    if not feature("namespaced_pid_max"):
        pytest.skip("kernel.pid_max is not per pid namespace here (Linux 6.14+)")
    u = units(doc)
    for b in available_backends():
        unit = u[("pidwrap/wrap_400", b)]
        assert unit["outcome"] == "pass", unit["reason"]
        obs = unit["observation"]
        assert obs["pidwrap.method"] == "pid_max"
        assert obs["pidwrap.pid_max"] == "400"
        # Written by a process that is not kernel root: an old kernel refuses it.
        assert int(obs["pidwrap.kernel_uid"]) > 0
        assert obs["wrap.reused"] == "yes" and obs["wrap.reused_pid"] == "300"
        n = unit["numbers"]
        # Fillers stop the cursor at 299: the backend's spawns take 300..399,
        # one each, and the 101st gets 300 again.
        assert obs["wrap.first_pid"] == "300" and n["fillers"] >= 290
        assert n["spawns_to_reuse"] == 101 and n["ms"] > 0


def test_stale_pid_hits_the_stranger_pidfd_does_not(family):
    _, doc, _, _ = family
    u = units(doc)
    for b in available_backends():
        unit = u[("pidwrap/stale_kill", b)]
        assert unit["outcome"] == "pass", unit["reason"]
        obs = unit["observation"]
        assert obs["victim.pid"] == obs["stale.pid"]
        # The stranger saw the signal sent to the stale pid, from W (pid 1).
        assert obs["stale.kill"] == "0" and obs["victim.after_kill"] == "SIGUSR1"
        assert obs["victim.sender"] == "1"
        # The old pidfd: ESRCH, and the stranger saw nothing before the marker.
        assert obs["stale.pidfd_send_signal"] == "ESRCH"
        assert obs["victim.after_pidfd"] == "none"
        expected_from = "backend" if b in ("clone3", "pdspawn", "pidfd_spawn") else "pidfd_open"
        assert obs["stale.pidfd_from"] == expected_from


def test_other_stale_views(family):
    _, doc, _, _ = family
    u = units(doc)
    for b in available_backends():
        race = u[("pidwrap/pidfd_open_race", b)]["observation"]
        assert race["race.pidfd_pid"] == race["stale.pid"] and race["stale.pidfd_pid"] == "-1"
        assert race["victim.after_new_pidfd"] == "SIGUSR1"
        w = u[("pidwrap/waitpid_stale", b)]["observation"]
        assert w["waitpid.reaped"] == w["stale.pid"] and w["waitpid.status"] == "exit 77"
        pr = u[("pidwrap/proc_stale", b)]["observation"]
        assert pr["proc.before_comm"] == "probe" and pr["proc.after_comm"] == "pidwrap-victim"


def test_pdspawn_api_never_yields_the_recycled_pid(family):
    _, doc, _, _ = family
    u = units(doc)
    unit = u[("pidwrap/pdspawn_api", "pdspawn")]
    assert unit["outcome"] == "pass", unit["reason"]
    obs = unit["observation"]
    assert obs["pdspawn.pid_after_reuse"] == "-1" and obs["pdspawn.kill"] == "ESRCH"
    assert obs["victim.after_pidfd"] == "none"
    # pdspawn's own API: the case names pdspawn alone, so no other backend
    # has a unit (not applicable is not a skip).
    assert [b for (cid, b) in u if cid == "pidwrap/pdspawn_api"] == ["pdspawn"]


def test_fallback_methods_are_used_when_asked(family):
    _, doc, _, _ = family
    u = units(doc)
    for cid, method in (("pidwrap/stale_kill_ns_last_pid", "ns_last_pid"),
                        ("pidwrap/zombie_not_reused_ns_last_pid", "ns_last_pid"),
                        ("pidwrap/stale_kill_set_tid", "set_tid"),
                        ("pidwrap/zombie_not_reused_set_tid", "set_tid")):
        unit = u[(cid, "fork")]
        if unit["outcome"] == "skip":
            continue  # the reason says which feature is missing
        assert unit["outcome"] == "pass", unit["reason"]
        assert unit["observation"]["pidwrap.method"] == method


def test_no_process_left_behind(family):
    assert our_processes() == []


def test_no_process_left_after_the_default_run(default_run):
    # Every family and every kind of child: probes, experiments that leave
    # thousands of children, helpers stopped with SIGSTOP, user namespaces.
    families = {c.parent.name for c in (ROOT / "cases").glob("*/*.case")} - {"bench"}
    assert {c["family"] for c in default_run.doc["cases"]} == families
    bad = [(c["id"], u["backend"], u["reason"]) for c in default_run.doc["cases"] for u in c["backends"]
           if u["outcome"] in ("fail", "error")]
    assert default_run.proc.returncode == 0, bad
    assert default_run.left == []


def test_bad_pid_max_is_a_parse_or_setup_error(cases_dir, tmp_path):
    (cases_dir / "low.case").write_text(
        "case low\ndesc d\nsource s\nrun pidwrap scenario=wrap pid_max=300\nexpect wrap.reused = yes\n")
    before = HOST_PID_MAX.read_text()
    p = run(["run", "t/low", "--cases", str(cases_dir.parent), "--backend", "fork",
             "--format", "json", "--out", str(tmp_path / "o")])
    assert HOST_PID_MAX.read_text() == before
    assert p.returncode == 1
    assert "pid_max must be 301" in p.stdout


def test_driver_sigkilled_mid_family_leaves_host_and_no_processes(tmp_path):
    import signal
    import subprocess
    import time
    from conftest import SPAWNLAB
    before = HOST_PID_MAX.read_text()
    # One unit at a time, so that the family takes long enough (~7 s).
    proc = subprocess.Popen([str(SPAWNLAB), "run", "pidwrap", "--jobs", "1", "--format", "json", "--out",
                             str(tmp_path / "o")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # well inside the family
    assert proc.poll() is None, "the family ended before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert HOST_PID_MAX.read_text() == before
    for _ in range(50):  # sandboxes die by PR_SET_PDEATHSIG; give them a moment
        if not our_processes():
            break
        time.sleep(0.1)
    assert our_processes() == []
