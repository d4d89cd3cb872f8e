"""Shared helpers: the tests drive the real binaries in $SPAWNLAB_BUILD
(default ../build) against the real kernel.

Hooks for test modules (issue 22):
- `default_run` (session fixture): one `spawnlab run` of the default suite,
  shared by every module that reads a real result; `subset(doc, "fam/*")`
  cuts it down to the cases a module looks at.  A module needing a family
  run differently (other backends, scaled-down case files, a VM) runs its
  own; one that only reads results takes this one.
- `need_deb(package, present)`: skip, naming the command that installs the
  package, when a test's tool is missing.  Every such package is listed in
  tests/debs.txt, which `make deps` (run by `make test`) installs as root.
- The driver and probe the tests run are private copies (SPAWNLAB, PROBE),
  so that `our_processes()` counts this session's processes only: another
  program running build/spawnlab cannot fail a test."""
import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("SPAWNLAB_BUILD", ROOT / "build"))
SCHEMA = json.loads((ROOT / "reports" / "result.schema.json").read_text())
DEBS = ROOT / "tests" / "debs.txt"


def _private_build():
    """BUILD's programs copied into a folder of this session, beside links to
    the repository's cases/ and reports/ (the driver finds both beside
    itself).  /proc/PID/exe then tells this session's processes from those
    of any other run of the same checkout."""
    top = Path(tempfile.mkdtemp(prefix="spawnlab-tests."))
    top.chmod(0o755)
    atexit.register(shutil.rmtree, top, True)
    (top / "build").mkdir(mode=0o755)
    (top / "cases").symlink_to(ROOT / "cases")
    (top / "reports").symlink_to(ROOT / "reports")
    for name in ("spawnlab", "probe", "tiny", "tiny-dyn", "pdspawn-check", "pdspawn-check-legacy", "pidfd-child",
                 "waiter"):
        if (BUILD / name).exists():
            shutil.copy2(BUILD / name, top / "build" / name)
    return top / "build"


PRIVATE_BUILD = _private_build()
SPAWNLAB = PRIVATE_BUILD / "spawnlab"
PROBE = PRIVATE_BUILD / "probe"


def run(args, timeout=300, **kw):
    """Run spawnlab with ARGS; returns the CompletedProcess (text)."""
    return subprocess.run([str(SPAWNLAB), *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def validate(doc):
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft7Validator)
    return doc


def run_json(tmp_path, *args, timeout=300):
    """spawnlab run ARGS --format json --out TMP; returns (proc, result)."""
    out = tmp_path / "out"
    p = run(["run", "--format", "json", "--out", str(out), *args], timeout=timeout)
    doc = json.loads((out / "result.json").read_text())
    assert json.loads(p.stdout) == doc, "stdout JSON and result.json differ"
    return p, validate(doc)


def units(doc):
    """{(case id, backend): unit} over a result."""
    return {(c["id"], u["backend"]): u for c in doc["cases"] for u in c["backends"]}


def backends():
    """{name: (available, why)} as `spawnlab backends` says, in its order:
    the tests take the backend list from the driver, never from a list of
    their own."""
    p = run(["backends"])
    assert p.returncode == 0, p.stderr
    rows = {}
    for line in p.stdout.splitlines():
        name, state, why = (line.split(None, 2) + [""])[:3]
        rows[name] = (state == "available", why.strip())
    return rows


def available_backends():
    return [b for b, (ok, _) in backends().items() if ok]


def features():
    """{name: "yes" | "no" | "unknown"} as `spawnlab features` probes them now."""
    p = run(["features"])
    assert p.returncode == 0, p.stderr
    return {line.split()[0]: line.split()[1] for line in p.stdout.splitlines()}


def finding_units(doc):
    """Every unit of a case that carries findings, with the judged findings:
    [(case, unit)] where the unit's "findings" say what the machine did."""
    return [(c, u) for c in doc["cases"] if c["findings"] for u in c["backends"] if u["findings"]]


def our_processes():
    """Processes running this session's driver, probe, pidfd child or waiter (by /proc/PID/exe)."""
    mine = {str(SPAWNLAB.resolve()), str(PROBE.resolve()), str((PRIVATE_BUILD / "pidfd-child").resolve()),
            str((PRIVATE_BUILD / "waiter").resolve())}
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
        except OSError:
            continue
        if exe in mine:
            found.append((int(d), exe))
    return found


def debs():
    """The packages tests need (tests/debs.txt, without comments)."""
    return [w for line in DEBS.read_text().splitlines() for w in line.split("#", 1)[0].split()
            if not w.startswith("-")]


def need_deb(package, present):
    """Skip unless PRESENT (a tool of PACKAGE was found), saying how to get it."""
    assert package in debs(), f"{package} is not in tests/debs.txt: add it there"
    if not present:
        pytest.skip(f"{package} is not installed: run `make deps` as root "
                    f"(or scripts/ensure-debs {package})")


def subset(doc, *patterns):
    """DOC with only the cases whose id matches one of PATTERNS (globs), its
    summary counted again over them."""
    import fnmatch
    out = dict(doc)
    out["cases"] = [c for c in doc["cases"] if any(fnmatch.fnmatchcase(c["id"], p) for p in patterns)]
    s = {k: 0 for k in ("pass", "fail", "skip", "error", "xfail", "xpass")}
    for c in out["cases"]:
        s[c["outcome"]] += 1
    out["summary"] = dict(s, cases=len(out["cases"]), run=len(out["cases"]))
    return out


HOST_PID_MAX = Path("/proc/sys/kernel/pid_max")


# make test runs the suite on two pytest-xdist workers (--dist loadgroup)
# when python3-pytest-xdist is installed.  A group runs on one worker: the
# modules that share the session's default run; the modules that boot VMs
# or build into the shared build folders (one qemu at a time, one make per
# folder); every other module whole, for its module-scoped fixtures.
SHARED_GROUPS = {"default_run": "default_run", "matrix_run": "vm"}
# (these also share scripts/debian-apt's private apt state and the download
# cache, which two processes must not update at once)
# test_fuzz is a group of its own (a quarter of the suite's work): its kernel
# replay boots bookworm's kernel, a suite no other test downloads, from the
# module's replay build.
VM_MODULES = {"test_matrix", "test_vm", "test_lava", "test_pdspawn_vs_pidfd_spawn"}


# A test marked sanitizer_build runs only against a sanitizer build (make
# check-asan's folder holds .san-flags): it puts every family through the
# sanitizers, and under make test the same check rides on the session's
# default run (test_pidwrap), so running it there too would cost a minute.
SANITIZER_BUILD = (BUILD / ".san-flags").exists()


def pytest_configure(config):
    config.addinivalue_line("markers", "sanitizer_build: run only against a sanitizer build (make check-asan)")


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup reads the marks
def pytest_collection_modifyitems(config, items):
    if not SANITIZER_BUILD:
        drop = [it for it in items if it.get_closest_marker("sanitizer_build")]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [it for it in items if it not in drop]
    if not config.pluginmanager.hasplugin("xdist"):
        return
    used = {}
    for it in items:
        used.setdefault(it.module.__name__, set()).update(it.fixturenames)
    for it in items:
        mod = it.module.__name__
        # A module that takes the default run only sometimes (test_fd) says
        # so in XDIST_GROUP: its fixtures reach it through getfixturevalue.
        group = getattr(it.module, "XDIST_GROUP", None)
        group = group or next((g for f, g in SHARED_GROUPS.items() if f in used[mod]), None)
        group = group or ("vm" if mod in VM_MODULES else mod)
        it.add_marker(pytest.mark.xdist_group(group))


SCRIPTS = ROOT / "scripts"
# The version matrix on a small scale, booted once per session and shared by
# test_matrix.py and test_vm.py: the host, Debian bullseye's 5.10 in a VM
# (the oldest kernel of the matrix, where pdspawn takes its fallback paths)
# and trixie's glibc on the host's kernel, each running the smoke subset.
MATRIX_KERNEL = "bullseye"
MATRIX_LIBC = "glibc-trixie"


def script(name, *args, timeout=300, **kw):
    return subprocess.run(["/usr/bin/python3", str(SCRIPTS / name), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def matrix_run(tmp_path_factory):
    """(folder, CompletedProcess) of scripts/matrix --kernels MATRIX_KERNEL
    --libcs MATRIX_LIBC with the smoke subsets; skips with the command that
    would enable it when qemu or busybox is missing."""
    for tool, pkg in (("qemu-system-x86_64", "qemu-system-x86"), ("busybox", "busybox-static")):
        if not shutil.which(tool) and not os.path.exists(f"/bin/{tool}"):
            pytest.skip(f"{tool} not installed (apt-get install {pkg})")
    out = tmp_path_factory.mktemp("matrix")
    p = script("matrix", "--build", BUILD, "--kernels", MATRIX_KERNEL, "--libcs", MATRIX_LIBC,
               "--kernel-subset", "smoke", "--libc-subset", "smoke", "--out", out, timeout=1800)
    if "debian-apt: cannot fetch" in p.stdout + p.stderr:
        pytest.skip("the Debian archive is not reachable: " + (p.stdout + p.stderr)[-300:])
    return out, p


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The default suite, run once per session as `make run` runs it (every
    case that is not explicit, every backend; JSON on stdout): .proc (the
    CompletedProcess), .doc (the validated result), .out (its folder, where
    result.json is), .pid_max_before/.pid_max_after (the host's), .left (this session's
    driver, probe and helper processes still running after it that were
    not running before).
    SPAWNLAB_DEFAULT_RESULT=path/to/result.json reuses an earlier default
    run instead, to iterate on tests quickly (make test never sets it)."""
    reuse = os.environ.get("SPAWNLAB_DEFAULT_RESULT")
    if reuse:  # for iterating on tests only: a result.json of an earlier default run
        doc = validate(json.loads(Path(reuse).read_text()))
        bad = doc["summary"]["fail"] + doc["summary"]["error"]
        p = subprocess.CompletedProcess([str(SPAWNLAB), "run"], 1 if bad else 0, "", "")
        pid_max = HOST_PID_MAX.read_text()
        return SimpleNamespace(proc=p, doc=doc, out=Path(reuse).parent, pid_max_before=pid_max,
                               pid_max_after=pid_max, left=[])
    out = tmp_path_factory.mktemp("default-run") / "out"
    before = HOST_PID_MAX.read_text()
    procs = set(our_processes())
    p = run(["run", "--format", "json", "--out", str(out)], timeout=1200)
    after = HOST_PID_MAX.read_text()
    for _ in range(20):  # sandboxes die by PR_SET_PDEATHSIG; give them a moment
        left = sorted(set(our_processes()) - procs)
        if not left:
            break
        time.sleep(0.1)
    doc = validate(json.loads((out / "result.json").read_text()))
    return SimpleNamespace(proc=p, doc=doc, out=out, pid_max_before=before, pid_max_after=after, left=left)


@pytest.fixture
def cases_dir(tmp_path):
    """A private case folder with one family, for tests that write cases."""
    d = tmp_path / "cases" / "t"
    d.mkdir(parents=True)
    return d
