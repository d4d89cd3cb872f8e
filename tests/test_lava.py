"""LAVA (issue 23 item 3): the test definition and the qemu job template
validate with LAVA's own schema code (Debian's lava-common), `make lava-job`
writes a valid job around a real initramfs, and the test definition's steps,
run as LAVA's run.sh runs them, report every case with the right result.
With Debian's lava-dispatcher installed, lava-run validates the job against
the qemu device dictionary rendered with lava-server's templates."""
import copy
import fcntl
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, SPAWNLAB, features, need_deb, validate

yaml = pytest.importorskip("yaml", reason="needs python3-yaml (a dependency of lava-common)")
schemas = pytest.importorskip("lava_common.schemas",
                              reason="needs Debian's lava-common: apt-get install -y lava-common")
from lava_common.schemas.test import testdef as testdef_schema  # noqa: E402
from voluptuous import Invalid  # noqa: E402

LAVA = ROOT / "scripts" / "lava"


def load(path):
    return yaml.safe_load(Path(path).read_text())


def test_template_and_definition_validate_with_lava_schema():
    job = load(LAVA / "job-qemu.yaml")
    schemas.validate(job, strict=True)
    testdef_schema.validate(load(LAVA / "spawnlab.yaml"))
    p = subprocess.run([str(LAVA / "validate"), str(LAVA / "job-qemu.yaml"), str(LAVA / "spawnlab.yaml")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "valid LAVA job" in p.stdout and "valid LAVA test definition" in p.stdout


def test_the_validator_rejects_broken_jobs(tmp_path):
    """Negative controls: LAVA's schema really is applied."""
    job = load(LAVA / "job-qemu.yaml")
    broken = {
        "no visibility": lambda j: j.pop("visibility"),
        "test longer than the job": lambda j: j["actions"][2]["test"].update(timeout={"minutes": 999}),
        "unknown boot method": lambda j: j["actions"][1]["boot"].update(method="qemu-nope"),
        "bad test definition name": lambda j: j["actions"][2]["test"]["definitions"][0].update(name="a b"),
    }
    for what, breaks in broken.items():
        j = copy.deepcopy(job)
        breaks(j)
        with pytest.raises(Invalid):
            schemas.validate(j, strict=True)
        f = tmp_path / "j.yaml"
        f.write_text(yaml.safe_dump(j))
        p = subprocess.run([str(LAVA / "validate"), str(f)], capture_output=True, text=True)
        assert p.returncode == 1 and "invalid" in p.stderr, what


def cpio_names(data):
    """File names in a newc cpio archive."""
    names, off = [], 0
    while off < len(data):
        assert data[off:off + 6] == b"070701", off
        namesize, filesize = int(data[off + 94:off + 102], 16), int(data[off + 54:off + 62], 16)
        name = data[off + 110:off + 110 + namesize - 1].decode()
        if name == "TRAILER!!!":
            break
        names.append(name)
        off += 110 + namesize
        off += (4 - off % 4) % 4
        off += filesize
        off += (4 - off % 4) % 4
    return names


def test_make_lava_job_writes_a_valid_job_around_the_initramfs(tmp_path):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs busybox-static: apt-get install -y busybox-static")
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"a kernel image stands here")
    out = tmp_path / "lava"
    p = subprocess.run(["make", "-s", "-C", str(ROOT), f"BUILD={BUILD}", "lava-job", f"KERNEL={kernel}",
                        f"LAVA_OUT={out}", "LAVA_PATTERNS=exec fd/open_plain", "LAVA_JOBFLAGS=--no-kvm"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    job = load(out / "job.yaml")
    schemas.validate(job, strict=True)
    deploy, boot, test = (a[k] for a, k in zip(job["actions"], ("deploy", "boot", "test")))
    initramfs = out / "spawnlab-initramfs.cpio.gz"
    assert deploy["images"]["kernel"]["url"] == kernel.as_uri()
    assert deploy["images"]["ramdisk"]["url"] == initramfs.as_uri()
    assert job["context"]["no_kvm"] is True
    (d,) = test["definitions"]
    assert d["from"] == "inline"
    testdef_schema.validate(d["repository"])
    assert d["repository"]["params"]["PATTERNS"] == "exec fd/open_plain"
    assert d["repository"]["run"] == load(LAVA / "spawnlab.yaml")["run"]
    # The initramfs holds what the definition runs, and its shell prompt is
    # the one the boot action waits for.
    raw = gzip.decompress(initramfs.read_bytes())
    names = cpio_names(raw)
    for n in ("init", "bin/busybox", "spawnlab/build/spawnlab", "spawnlab/build/probe",
              "spawnlab/cases/exec/fds.case"):
        assert n in names, n
    assert d["repository"]["params"]["SPAWNLAB"] == "/spawnlab/build/spawnlab"
    assert f"PS1='{boot['prompts'][0]}'".encode() in raw
    # Without a kernel, make says how to call it.
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "lava-job"], capture_output=True, text=True)
    assert p.returncode == 2 and "usage: make lava-job KERNEL=" in p.stderr


VM_RUN_BUILD = ("import importlib.machinery, pathlib, sys; "
                "m = importlib.machinery.SourceFileLoader('vm_run', sys.argv[1]).load_module(); "
                "m.build_static(pathlib.Path(sys.argv[2]))")


@pytest.mark.parametrize("how", ["make static", "vm-run"])
def test_makes_into_the_static_folder_take_turns(how):
    """Every make into build/static holds flock on its .lock: make test's
    workers reach that folder at once (the fuzz kernel replay through
    vm-run, this module's lava-job), and a check once read a program the
    other was still linking ("pdspawn-check-legacy is not static: empty").
    While the test holds the lock, no make may have started under the
    make static it runs, directly or through vm-run (an unlocked one would
    be building, or done)."""
    static = BUILD / "static"
    static.mkdir(parents=True, exist_ok=True)
    cmd = (["make", "-s", "-C", str(ROOT), f"BUILD={BUILD}", "static"] if how == "make static" else
           ["/usr/bin/python3", "-c", VM_RUN_BUILD, str(ROOT / "scripts" / "vm-run"), str(static)])
    with open(static / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        early, makes = p.returncode, [c for c in descendants(p.pid) if c == "make"]
    out, _ = p.communicate(timeout=600)
    # vm-run's own `make static` waits in its recipe's flock; only a make
    # below that one would be building.
    assert early is None and makes == ([] if how == "make static" else ["make"]), f"{how} did not wait for the lock: {out}"
    assert p.returncode == 0, out


def descendants(pid):
    """The comm of every process below PID."""
    parent, comm = {}, {}
    for d in Path("/proc").iterdir():
        try:
            st = (d / "stat").read_text()
        except (OSError, ValueError):
            continue
        if d.name.isdigit():
            name, rest = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()
            parent[int(d.name)], comm[int(d.name)] = int(rest[1]), name
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += [comm[c] for c in kids]
        todo += kids
    return out


def run_definition_steps(tmp_path, params):
    """The definition's run steps as LAVA's run.sh runs them (params
    exported, `set -e`), with a lava-test-case that records its calls."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "lava-test-case.log"
    (bindir / "lava-test-case").write_text(
        f'#!/bin/sh\n[ "$2" = --result ] || exit 1\necho "$1 $3" >> {record}\n')
    (bindir / "lava-test-case").chmod(0o755)
    testdef = load(LAVA / "spawnlab.yaml")
    merged = {**testdef["params"], **params}
    script = "".join(f"export {k}='{v}'\n" for k, v in merged.items()) + "set -e\n" + \
        "".join(s + "\n" for s in testdef["run"]["steps"])
    p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", TMPDIR=str(tmp_path)))
    results = dict(l.split() for l in record.read_text().splitlines()) if record.exists() else {}
    return p, results


def test_definition_reports_every_case_with_its_result(tmp_path, cases_dir):
    missing = [f for f, state in features().items() if state != "yes"]
    if not missing:
        pytest.skip("every feature is present here: no case can be skipped for a missing one")
    (cases_dir / "l.case").write_text(
        "case passes\ndesc p\nsource this test\nexpect pid > 0\n\n"
        "case fails\ndesc f\nsource this test\nexpect pid = 1\n\n"
        f"case skips\ndesc s\nsource this test\nneeds {missing[0]}\nexpect pid > 0\n\n"
        "case known\ndesc k\nsource this test\nexpect pid = 1\nfinding pid != 1 a known disagreement\n")
    p, results = run_definition_steps(tmp_path, {
        "SPAWNLAB": str(SPAWNLAB), "RUN_ARGS": f"--cases {cases_dir.parent} --backend fork"})
    assert p.returncode == 0, p.stderr
    assert "TAP version 13" in p.stdout  # the run's KTAP is in the LAVA log too
    doc = validate(json.loads((tmp_path / "spawnlab-lava" / "result.json").read_text()))
    outcome = {c["id"]: c["outcome"] for c in doc["cases"]}
    assert outcome == {"t/passes": "pass", "t/fails": "fail", "t/skips": "skip", "t/known": "xfail"}
    assert results == {"t.passes": "pass", "t.fails": "fail", "t.skips": "skip", "t.known": "pass",
                       "spawnlab-run": "fail"}


def test_definition_passes_a_clean_run(tmp_path):
    p, results = run_definition_steps(tmp_path, {"SPAWNLAB": str(SPAWNLAB), "PATTERNS": "exec"})
    assert p.returncode == 0, p.stderr
    doc = validate(json.loads((tmp_path / "spawnlab-lava" / "result.json").read_text()))
    want = {c["id"].replace("/", "."): "skip" if c["outcome"] == "skip" else "pass" for c in doc["cases"]}
    assert doc["summary"]["fail"] == doc["summary"]["error"] == 0
    assert results == {**want, "spawnlab-run": "pass"}
    assert len(want) == doc["summary"]["cases"] >= 12


def test_lava_run_accepts_the_job_on_a_qemu_device(tmp_path):
    need_deb("lava-dispatcher", shutil.which("lava-run"))
    templates = Path.home() / ".cache/spawnlab/lava-server/root/usr/share/lava-server/device-types"
    if not (templates / "qemu.jinja2").exists() and os.geteuid() != 0:
        pytest.skip("needs lava-server's device-type templates: scripts/lava/run-local fetches them as root")
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"kernel")
    ramdisk = tmp_path / "initramfs.cpio.gz"
    ramdisk.write_bytes(gzip.compress(b""))
    job = tmp_path / "job.yaml"
    subprocess.run([str(LAVA / "make-job"), "--kernel", str(kernel), "--ramdisk", str(ramdisk), "--out", str(job),
                    "--no-kvm", "exec"], check=True, capture_output=True)
    # Render the device as run-local does, then let lava-run build and
    # validate the whole pipeline without running it.
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("run_local", str(LAVA / "run-local"))
    spec = importlib.util.spec_from_loader("run_local", loader)
    run_local = importlib.util.module_from_spec(spec)
    loader.exec_module(run_local)
    device = tmp_path / "device.yaml"
    run_local.render_device(load(job)["context"], device)
    dev = load(device)
    qemu = dev["actions"]["boot"]["methods"]["qemu"]["parameters"]
    assert qemu["command"] == "qemu-system-x86_64" and "-enable-kvm" not in qemu["options"]
    job_id = str(os.getpid())  # lava-run keeps files in /var/lib/lava/dispatcher/tmp/JOB_ID
    try:
        p = subprocess.run(["lava-run", "--validate", "--job-id", job_id, "--output-dir", str(tmp_path / "o"),
                            "--device", str(device), str(job)], capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(Path("/var/lib/lava/dispatcher/tmp") / job_id, ignore_errors=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "Job finished correctly" in p.stdout + p.stderr  # lava-run logs to stderr
