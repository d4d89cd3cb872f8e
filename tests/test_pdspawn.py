"""pdspawn's promises (harness/pdspawn.h), checked by build/pdspawn-check
against the real kernel; each promise must be there and pass."""
import re
import subprocess

from conftest import BUILD


def test_pdspawn_promises():
    p = subprocess.run([str(BUILD / "pdspawn-check")], capture_output=True, text=True, timeout=120)
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
    assert p.returncode == 0
