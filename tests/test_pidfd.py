"""The pidfd API's details (cases/pidfd, cases/threads, cases/clone): run
against the real kernel on every backend, a few observations checked
against the kernel source they come from, and every new experiment shown
able to fail."""
import pytest

from conftest import run, subset, units, available_backends, features, our_processes

FAMILY_GLOBS = ("pidfd/*", "threads/*", "clone/flag_*")
EXPERIMENTS = {
    # experiment: (a planted case that must fail, the key it gets wrong)
    "pidfd_info": ("run pidfd_info scenario=exit\nexpect reaped.exit = exit 24\n", "reaped.exit"),
    "pidfd_wait": ("run pidfd_wait scenario=killed\nexpect killed.si_status = SIGKILL\n", "killed.si_status"),
    "pidfd_signal": ("run pidfd_signal scenario=queue\nexpect queue.si_value = 4243\n", "queue.si_value"),
    "threads": ("run threads scenario=leader_exit\nexpect leader.pidfd_poll = POLLIN\n", "leader.pidfd_poll"),
    "clone_flag": ("run clone_flag flag=clear_sighand\nexpect clear_sighand.ignored = default\n",
                   "clear_sighand.ignored"),
}


@pytest.fixture(scope="module")
def result(default_run):
    """The families from the session's default run (its exit status covers
    every family: 0 only when nothing failed or broke)."""
    return default_run.proc, subset(default_run.doc, *FAMILY_GLOBS)


def test_families_pass_skip_with_reason_or_reproduce_findings(result):
    p, doc = result
    bad = [(c["id"], u["backend"], u["outcome"], u["reason"]) for c in doc["cases"] for u in c["backends"]
           if u["outcome"] in ("fail", "error")]
    assert not bad
    assert p.returncode == 0
    ids = {c["id"] for c in doc["cases"]}
    for cid in ("pidfd/get_info_exit", "pidfd/waitid_dumped", "pidfd/getfd_zombie", "pidfd/exit_signal_exec",
                "threads/leader_exits_first", "threads/thread_execs", "clone/flag_autoreap", "clone/flag_unknown_flags"):
        assert cid in ids
    for c in doc["cases"]:
        assert any(s.get("type") for s in c["sources"]), c["id"]
        for u in c["backends"]:
            if u["outcome"] == "skip":
                assert u["reason"], (c["id"], u["backend"])
    assert our_processes() == []


def test_backend_dependent_cases_ran_on_every_available_backend(result):
    _, doc = result
    u = units(doc)
    for b in available_backends():
        for cid in ("pidfd/get_info_exit", "pidfd/waitid_stopped", "pidfd/send_signal_queue",
                    "pidfd/getfd_same_file", "threads/leader_exits_first"):
            unit = u[(cid, b)]
            if features().get("pidfd_info_exit") != "yes" and cid == "pidfd/get_info_exit":
                assert unit["outcome"] == "skip"
                continue
            assert unit["outcome"] == "pass", (cid, b, unit["reason"])
            want = "backend" if b in ("clone3", "pidfd_spawn", "pdspawn") else "pidfd_open"
            assert unit["observation"]["kid.pidfd_from"] == want


def test_exit_status_is_the_wait_status(result):
    """fs/pidfs.c pidfs_exit records tsk->exit_code: exactly what wait4 returns."""
    _, doc = result
    if features().get("pidfd_info_exit") != "yes":
        pytest.skip("PIDFD_INFO_EXIT is not in this kernel (6.15)")
    u = units(doc)
    for b in available_backends():
        for cid, status in (("pidfd/get_info_exit", 23 << 8), ("pidfd/get_info_killed", 9)):
            obs = u[(cid, b)]["observation"]
            assert int(obs["wait.status"], 16) == status
            assert int(obs["reaped.exit_code"], 16) == status
            assert obs["reaped_noexit.errno"] == "ESRCH"


def test_siginfo_and_leader_observations(result):
    _, doc = result
    u = units(doc)
    for b in available_backends():
        q = u[("pidfd/send_signal_queue", b)]["observation"]
        assert (q["queue.si_code"], q["queue.si_pid"], q["queue.si_value"]) == ("SI_QUEUE", "4321", "4242")
        w = u[("pidfd/waitid_stopped", b)]["observation"]
        assert (w["stopped.si_code"], w["stopped.si_status"]) == ("CLD_STOPPED", "SIGSTOP")
        t = u[("threads/leader_exits_first", b)]["observation"]
        assert t["leader.pidfd_poll"] == "not_readable" and t["after.waitid"] == "child exit 23"


def test_clone_flags_known_or_skipped_naming_the_commit(result):
    _, doc = result
    u = units(doc)
    commits = {"autoreap": "12ae2c81b21c", "nnp": "24baca56fafc", "pidfd_autokill": "c8134b5f13ae",
               "empty_mntns": "9d4e752a24f7"}
    for flag, commit in commits.items():
        unit = u[(f"clone/flag_{flag}", "clone3")]
        if unit["outcome"] == "skip":
            assert commit in unit["reason"] and "EINVAL" in unit["reason"]
            assert features()[f"clone_{flag}"] == "no"
        else:
            assert unit["outcome"] == "pass", unit["reason"]
            assert features()[f"clone_{flag}"] == "yes"
    assert u[("clone/flag_unknown_flags", "clone3")]["observation"]["unknown.lowest"] == "EINVAL"


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_each_experiment_can_fail(experiment, tmp_path, cases_dir):
    body, key = EXPERIMENTS[experiment]
    backend = "clone3" if experiment == "clone_flag" else "fork"
    (cases_dir / "planted.case").write_text(
        f"case planted\ndesc a wrong expectation\nsource spawnlab:tests/test_pidfd.py\n{body}")
    out = tmp_path / "o"
    p = run(["run", "t/planted", "--cases", str(cases_dir.parent), "--backend", backend,
             "--format", "json", "--out", str(out)])
    assert p.returncode == 1, p.stdout
    unit = units(__import__("json").loads((out / "result.json").read_text()))[("t/planted", backend)]
    assert unit["outcome"] == "fail"
    assert key in unit["reason"]
