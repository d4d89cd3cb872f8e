"""pdspawn's promises (harness/pdspawn/pdspawn.h) and the regression
checks of its fixed defects, checked by build/pdspawn-check against the
real kernel; each must be there and pass.  The checks run twice: with
pdspawn's clone3 path (CLONE_CLEAR_SIGHAND, used on 5.5+ x86_64) and with
the paths of a 5.4 kernel (clone() and no close_range), built as
pdspawn-check-legacy.  Where the libc has glibc's pidfd_spawn, the same
checks are put to it and the comparison is written as JSON."""
import json
import platform
import re
import subprocess

import pytest

from conftest import BUILD, run

# Every check pdspawn-check must run (its TAP names), and what it guards.
CHECKS = [
    "returns_pidfd", "exactly_mapped_fds", "exit_signal_0_until_exec", "signals_via_pidfd",
    "exec_failure_synchronous", "explicit_signal_state", "no_eintr", "wait_timeout", "cwd",
    # issue 21: the four defects, then threads under load
    "cancellation_disabled", "copies_below_nofile", "thread_stack_min", "status_when_reaped_elsewhere",
    "threads_stress",
]


def clone3_path_expected():
    """pdspawn takes its clone3 path where the kernel has clone3 with
    CLONE_CLEAR_SIGHAND (the driver's feature probe) on x86_64."""
    feats = {l.split()[0]: l.split()[1] for l in run(["features"]).stdout.splitlines() if l.strip()}
    return platform.machine() == "x86_64" and feats.get("clone_clear_sighand") == "yes"


PATHS = {
    "pdspawn-check": "clone3 with CLONE_CLEAR_SIGHAND",
    "pdspawn-check-legacy": "clone with every signal blocked",
}


def libc_has_pidfd_spawn():
    """glibc 2.39+ (the binary is built against this machine's libc)."""
    name, version = platform.libc_ver()
    return name == "glibc" and tuple(int(x) for x in version.split(".")[:2]) >= (2, 39)


@pytest.fixture(scope="module", params=sorted(PATHS))
def checked(request, tmp_path_factory):
    binary = request.param
    out = tmp_path_factory.mktemp("pdcheck") / "check.json"
    p = subprocess.run([str(BUILD / binary), "--json", str(out)], capture_output=True, text=True, timeout=300)
    return binary, p, json.loads(out.read_text()) if out.exists() else None


def test_pdspawn_promises(checked):
    binary, p, _ = checked
    lines = p.stdout.splitlines()
    assert lines[0] == "TAP version 13", p.stdout
    plan = re.fullmatch(r"1\.\.(\d+)", lines[1])
    assert plan, p.stdout
    results = [l for l in lines if re.match(r"^(not )?ok \d+ ", l)]
    assert len(results) == int(plan.group(1)) == len(CHECKS) + 1, p.stdout
    names = [re.match(r"^(?:not )?ok \d+ (\S+)", l).group(1) for l in results]
    assert names == CHECKS + ["pidfd_spawn_comparison"], names
    failed = [l for l in results if l.startswith("not ok")]
    assert not failed, p.stdout
    skipped = [l for l in results if "# SKIP" in l]
    # On this kernel every promise can be checked; only the comparison with
    # glibc's pidfd_spawn may be missing, and only where the libc lacks it.
    if libc_has_pidfd_spawn():
        assert not skipped, "\n".join(skipped)
    else:
        assert [l.split()[2] for l in skipped] == ["pidfd_spawn_comparison"], "\n".join(skipped)
        assert "no pidfd_spawn" in skipped[0], skipped[0]
    # The path the binary is meant to exercise is the one it took.
    want = PATHS[binary]
    if binary == "pdspawn-check" and not clone3_path_expected():
        want = PATHS["pdspawn-check-legacy"]
    assert f"# children created by {want}" in lines, p.stdout
    assert p.returncode == 0


def test_stress_counts_and_controls(checked):
    """The stress check's own numbers: work was done (positive controls)
    and every leak, zombie and stray handler count is zero."""
    _, p, _ = checked
    m = re.search(r"^# \d+ ms, \d+ spawning threads: (\d+) spawns \((\d+) with mapped fds\), (\d+) fds leaked, "
                  r"(\d+) short tables, (\d+) spawn and (\d+) wait errors .*?, (\d+) EINTR; "
                  r"(\d+) fd churns, (\d+) forks, (\d+) signals sent, (\d+) handled here, (\d+) in children; "
                  r".*; no child left$", p.stdout, re.M)
    assert m, p.stdout
    spawns, mapped, leaked, short, serr, werr, eintr, churns, forks, sent, here, in_child = map(int, m.groups())
    assert spawns >= 30 and mapped > 0 and churns > 0 and forks > 0 and sent > 0 and here > 0
    assert leaked == short == serr == werr == eintr == in_child == 0


def test_json_matches_tap(checked):
    binary, p, doc = checked
    assert doc and doc["schema"] == "pdspawn-check/1", binary
    pd = next(a for a in doc["apis"] if a["api"] == "pdspawn")
    assert [c["name"] for c in pd["checks"]] == CHECKS
    assert {c["result"] for c in pd["checks"]} == {"pass"}
    pfs = next(a for a in doc["apis"] if a["api"] == "pidfd_spawn")
    if not libc_has_pidfd_spawn():
        assert pfs["available"] is False and "no pidfd_spawn" in pfs["why"]
        return
    # glibc's pidfd_spawn returns a pidfd by definition: the positive
    # control of the comparison.
    assert pfs["available"] and pfs["checks"][0] == {**pfs["checks"][0], "name": "returns_pidfd", "result": "pass"}
    for c in pfs["checks"]:
        assert c["result"] in ("pass", "fail", "skip", "not_expressible")
        assert c["result"] == "pass" or c["why"], c


def test_bad_usage_exits_2():
    p = subprocess.run([str(BUILD / "pdspawn-check"), "--bogus"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "usage" in p.stderr
    p = subprocess.run([str(BUILD / "pdspawn-check"), "--only", "no_such_check"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2 and "names no check" in p.stderr
