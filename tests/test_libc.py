"""libc-level cases (cases/libc) and the strace evidence of how each backend
creates its child (scripts/trace), against the build under test."""
import json
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, features, run, run_json, units


def test_libc_cases_pass(tmp_path):
    p, doc = run_json(tmp_path, "libc", "--probe", str(BUILD / "probe"))
    assert p.returncode == 0, p.stdout + p.stderr
    ids = {c["id"] for c in doc["cases"]}
    assert {"libc/error_file_action_open", "libc/setsigdef", "libc/system_signals_caller",
            "libc/popen_streams_closed_in_next_popen", "libc/handler_never_in_child"} <= ids
    u = units(doc)
    # Each case ran (not skipped) with posix_spawn or its own backend list,
    # and passed, or reproduced a finding the case records for this libc.
    for c in doc["cases"]:
        assert c["outcome"] in ("pass", "xfail", "xpass"), (c["id"], [x["reason"] for x in c["backends"]])
        for x in c["backends"]:
            if x["outcome"] == "xfail":
                assert x["findings"] and all(f["actual"] == x["observation"][f["key"]] for f in x["findings"])
    # Reserved signals: the program posix_spawn started ignores nothing,
    # or exactly what the finding bound to this libc records.
    unit = u[("libc/reserved_signals_default_in_program", "posix_spawn")]
    if unit["outcome"] == "xfail":
        f = unit["findings"][0]
        assert f["key"] == "sigignored" and unit["observation"]["sigignored"] == f["expected"]
    else:
        assert unit["outcome"] == "pass" and unit["observation"]["sigignored"] == "none"
    obs = u[("libc/error_file_action_open", "posix_spawn")]["observation"]
    assert obs["spawn.errno"] == "ENOENT" and obs["child.left"] == "no"
    obs = u[("libc/system_signals_caller", "posix_spawn")]["observation"]
    assert obs["during.sig.SIGINT"] == "ignore" and obs["after.sig.SIGINT"] == "handle"


def test_libc_spawn_refuses_other_backends(tmp_path, cases_dir):
    """The experiment calls posix_spawn itself (its kind takes posix_spawn
    only): a case naming another backend does not load, never a silent
    pass; a case naming none gets posix_spawn alone."""
    f = cases_dir / "x.case"
    f.write_text("case c\ndesc d\nsource s\nbackends fork\nrun libc_spawn\nexpect spawn.errno = 0\n")
    p = run(["check", str(f)])
    assert p.returncode == 2 and f"{f}:1: " in p.stderr and "own API of posix_spawn only" in p.stderr, p.stderr
    f.write_text("case c\ndesc d\nsource s\nrun libc_spawn\nexpect spawn.errno = 0\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    assert [u["backend"] for u in doc["cases"][0]["backends"]] == ["posix_spawn"]


def test_libc_case_can_fail(tmp_path, cases_dir):
    """A wrong expectation on a libc observation fails (the check is real)."""
    (cases_dir / "x.case").write_text(
        "case c\ndesc d\nsource s\nbackends posix_spawn\nrun libc_spawn program=missing\n"
        "expect spawn.errno = 0\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    unit = units(doc)[("t/c", "posix_spawn")]
    assert unit["outcome"] == "fail" and "ENOENT" in unit["reason"]





# How each libc's posix_spawn creates its child, from its source: a vfork-like
# clone sharing memory, exit signal SIGCHLD.  glibc: CLONE_VM | CLONE_VFORK |
# SIGCHLD (sysdeps/unix/sysv/linux/spawni.c), through __clone_internal, which
# tries clone3 first since 2.34 and falls back to clone where the kernel lacks
# it.  musl: __clone(child, ..., CLONE_VM|CLONE_VFORK|SIGCHLD)
# (src/process/posix_spawn.c).
POSIX_SPAWN_FLAGS = {"CLONE_VM", "CLONE_VFORK"}


def expected_creator(libc, version):
    """The system call the libc's posix_spawn creates the child with here."""
    if libc == "glibc" and tuple(int(x) for x in version.split(".")[:2]) >= (2, 34) and \
            features().get("clone3") == "yes":
        return "clone3"
    return "clone"


@pytest.fixture(scope="module")
def trace_doc(tmp_path_factory):
    if not shutil.which("strace"):
        subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "strace"], capture_output=True)
    if not shutil.which("strace"):
        pytest.skip("strace is not installed and could not be (scripts/ensure-debs strace)")
    out = tmp_path_factory.mktemp("trace")
    p = subprocess.run([str(ROOT / "scripts" / "trace"), "--build", str(BUILD), "--out", str(out),
                        "--backend", "posix_spawn,vfork,fork,pdspawn"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads((out / "trace.json").read_text())


def test_trace_posix_spawn_clone_flags(trace_doc):
    libc = trace_doc["libc"]
    want_call, want_flags = expected_creator(libc["name"], libc["version"]), POSIX_SPAWN_FLAGS
    ps = next(b for b in trace_doc["backends"] if b["backend"] == "posix_spawn")
    assert ps["outcome"] == "pass"
    assert len(ps["spawns"]) == 1, ps
    cr = ps["spawns"][0]["creator"]
    assert cr["syscall"] == want_call, cr
    assert set(cr["flags"]) == want_flags, cr
    assert cr["exit_signal"] == "SIGCHLD"
    assert ps["spawns"][0]["child"][-1].startswith("execve(")


def test_trace_other_backends(trace_doc):
    by = {b["backend"]: b["spawns"][0]["creator"] for b in trace_doc["backends"] if b["spawns"]}
    assert by["vfork"]["syscall"] == "vfork"
    assert "CLONE_VM" not in by["fork"]["flags"]
    # harness/pdspawn/pdspawn.c: CLONE_PIDFD, exit signal 0, sharing memory until exec.
    assert {"CLONE_PIDFD", "CLONE_VM", "CLONE_VFORK"} <= set(by["pdspawn"]["flags"])
    assert by["pdspawn"]["exit_signal"] == "0"
