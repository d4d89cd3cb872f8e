"""pdspawn's promises (harness/pdspawn.h), checked by build/pdspawn-check
against the real kernel; each promise must be there and pass.  The checks
run twice: with pdspawn's clone3 path (CLONE_CLEAR_SIGHAND, used on 5.5+
x86_64) and with its clone() path (older kernels, seccomp filters that
refuse clone3, other architectures), built as pdspawn-check-legacy."""
import re
import subprocess

import platform

import pytest

from conftest import BUILD, run


def clone3_path_expected():
    """pdspawn takes its clone3 path where the kernel has clone3 with
    CLONE_CLEAR_SIGHAND (the driver's feature probe) on x86_64."""
    feats = {l.split()[0]: l.split()[1] for l in run(["features"]).stdout.splitlines() if l.strip()}
    return platform.machine() == "x86_64" and feats.get("clone_clear_sighand") == "yes"

PATHS = {
    "pdspawn-check": "clone3 with CLONE_CLEAR_SIGHAND",
    "pdspawn-check-legacy": "clone with every signal blocked",
}


@pytest.mark.parametrize("binary", sorted(PATHS))
def test_pdspawn_promises(binary):
    p = subprocess.run([str(BUILD / binary)], capture_output=True, text=True, timeout=120)
    lines = p.stdout.splitlines()
    assert lines[0] == "TAP version 13", p.stdout
    plan = re.fullmatch(r"1\.\.(\d+)", lines[1])
    assert plan, p.stdout
    results = [l for l in lines if re.match(r"^(not )?ok \d+ ", l)]
    assert len(results) == int(plan.group(1)) >= 9
    failed = [l for l in results if l.startswith("not ok")]
    assert not failed, p.stdout
    skipped = [l for l in results if "# SKIP" in l]
    assert not skipped, "on this kernel every promise can be checked: " + "\n".join(skipped)
    # The path the binary is meant to exercise is the one it took.
    want = PATHS[binary]
    if binary == "pdspawn-check" and not clone3_path_expected():
        want = PATHS["pdspawn-check-legacy"]
    assert f"# children created by {want}" in lines, p.stdout
    assert p.returncode == 0
