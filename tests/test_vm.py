"""A kernel regression run in a VM: boot Debian's packaged kernel under
qemu and run the exec family inside.  Runs when qemu and busybox-static are
installed (make test does not install them; .ci/run does) and the kernel
package can be had; otherwise skips with the reason."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, BUILD, validate


def need(cond, why):
    if not cond:
        pytest.skip(why)


def test_exec_family_on_debian_kernel_in_vm(tmp_path):
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
    need(os.path.exists("/bin/busybox"), "busybox-static not installed")
    k = subprocess.run([str(ROOT / "scripts" / "debian-kernel"), "bookworm"],
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
    # Older kernels lack features: those are skips with reasons, never failures.
    bad = [(c["id"], u["backend"], u["reason"]) for c in doc["cases"] for u in c["backends"]
           if u["outcome"] in ("fail", "error")]
    assert not bad, bad
    assert p.returncode == 0
    # Nothing left running on the host.
    assert subprocess.run(["pgrep", "-f", "qemu-system-x86_64.*" + str(out)],
                          capture_output=True).returncode == 1
