"""A kernel regression run in a VM: Debian bullseye's packaged kernel (5.10,
the oldest of the matrix: pdspawn takes its fallback paths there) under
qemu, running the smoke subset (the exec family among it) with the static
build, after pdspawn's checkers.  The VM is the kernel column of the small
matrix every `make test` runs (conftest.matrix_run, shared with
test_matrix.py, so it boots once); it skips, naming the package, where qemu
or busybox-static is missing (make deps installs them)."""
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import MATRIX_KERNEL, validate


def test_exec_family_and_pdspawn_checks_on_debian_kernel_in_vm(matrix_run):
    out, p = matrix_run
    col = out / f"linux-{MATRIX_KERNEL}"
    assert (col / "result.json").exists(), p.stdout[-2000:] + p.stderr[-2000:]
    assert "TAP version 13" in (col / "console.log").read_text(errors="replace")
    doc = validate(json.loads((col / "result.json").read_text()))
    release = doc["environment"]["kernel"]["release"]
    assert release != os.uname().release
    assert doc["column"]["where"] == "vm" and doc["column"]["suite"] == MATRIX_KERNEL
    assert doc["column"]["package"] == f"linux-image-{release}", (doc["column"], release)
    assert doc["complete"] and doc["summary"]["run"] >= 12
    assert any(c["id"].startswith("exec/") for c in doc["cases"])
    # The static build, as on the host's side of a kernel diff.
    assert doc["environment"]["build"]["linkage"] == "static"
    # Older kernels lack features: those are skips with reasons, never failures.
    bad = [(c["id"], u["backend"], u["reason"]) for c in doc["cases"] for u in c["backends"]
           if u["outcome"] in ("fail", "error")]
    assert not bad, bad
    # pdspawn-check and pdspawn-check-legacy ran in the guest and passed; a
    # kernel without CLOSE_RANGE_CLOEXEC (before 5.11) is where pdspawn
    # takes its fallback path.
    vm = json.loads((col / "vm.json").read_text())
    assert {n: c["exit"] for n, c in vm["checks"].items()} == {"pdspawn-check": 0, "pdspawn-check-legacy": 0}, vm
    for name in vm["checks"]:
        tap = (col / f"{name}.tap").read_text()
        assert re.search(r"^# [1-9]\d* checks, 0 failed$", tap, re.M) and "not ok" not in tap, tap[-1500:]
    feats = {f["name"]: f["state"] for f in doc["environment"]["features"]}
    assert feats["close_range_cloexec"] == "no", feats["close_range_cloexec"]
    assert vm["accel"] in ("kvm", "tcg") and vm["wall_s"] > 0
    # Nothing left running on the host.
    assert subprocess.run(["pgrep", "-f", "qemu-system-x86_64.*" + str(Path(out))],
                          capture_output=True).returncode == 1
