"""A kernel regression run in a VM: boot Debian bullseye's packaged kernel
(5.10, the oldest of the matrix: pdspawn takes its fallback paths there)
under qemu and run the exec family with the static build, after pdspawn's
checkers.  Runs when qemu and busybox-static are installed and the kernel
package can be had (make test does not install them; .ci/run does);
otherwise skips with the reason.  tests/test_matrix.py boots another."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, BUILD, validate


def need(cond, why):
    if not cond:
        pytest.skip(why)


def test_exec_family_and_pdspawn_checks_on_debian_kernel_in_vm(tmp_path):
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
    need(os.path.exists("/bin/busybox"), "busybox-static not installed")
    k = subprocess.run([str(ROOT / "scripts" / "debian-kernel"), "bullseye"],
                       capture_output=True, text=True, timeout=600)
    need(k.returncode == 0, f"Debian kernel package not available: {k.stderr.strip()[-300:]}")
    kernel = k.stdout.strip().splitlines()[-1]
    out = tmp_path / "vm"
    p = subprocess.run([str(ROOT / "scripts" / "vm-run"), kernel, "exec", "--out", str(out),
                        "--build", str(BUILD / "static"), "--timeout", "600"],
                       capture_output=True, text=True, timeout=700)
    assert "TAP version 13" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    doc = validate(json.loads((out / "result.json").read_text()))
    release = doc["environment"]["kernel"]["release"]
    assert release == Path(kernel).name.removeprefix("vmlinuz-"), release
    assert release != os.uname().release
    assert doc["complete"] and doc["summary"]["run"] >= 12
    # The static build, as on the host's side of a kernel diff.
    assert doc["environment"]["build"]["linkage"] == "static"
    # Older kernels lack features: those are skips with reasons, never failures.
    bad = [(c["id"], u["backend"], u["reason"]) for c in doc["cases"] for u in c["backends"]
           if u["outcome"] in ("fail", "error")]
    assert not bad, bad
    # pdspawn-check and pdspawn-check-legacy ran in the guest and passed; a
    # kernel without CLOSE_RANGE_CLOEXEC (before 5.11) is where pdspawn
    # takes its fallback path.
    vm = json.loads((out / "vm.json").read_text())
    assert {n: c["exit"] for n, c in vm["checks"].items()} == {"pdspawn-check": 0, "pdspawn-check-legacy": 0}, vm
    for name in vm["checks"]:
        tap = (out / f"{name}.tap").read_text()
        assert re.search(r"^# [1-9]\d* checks, 0 failed$", tap, re.M) and "not ok" not in tap, tap[-1500:]
    # Bullseye's 5.10 predates CLOSE_RANGE_CLOEXEC (5.11): the checks above
    # passed on pdspawn's fallback, which is what this kernel is here for.
    feats = {f["name"]: f["state"] for f in doc["environment"]["features"]}
    assert feats["close_range_cloexec"] == "no", feats["close_range_cloexec"]
    assert vm["accel"] in ("kvm", "tcg") and vm["wall_s"] > 0
    assert p.returncode == 0
    # Nothing left running on the host.
    assert subprocess.run(["pgrep", "-f", "qemu-system-x86_64.*" + str(out)],
                          capture_output=True).returncode == 1
