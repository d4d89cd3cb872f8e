"""The musl build (`make LIBC=musl`): it builds statically, the exec and libc
families pass on it, it says it is musl, and its posix_spawn is traced."""
import json
import shutil
import subprocess

import pytest

from conftest import ROOT, units, validate


@pytest.fixture(scope="module")
def musl(tmp_path_factory):
    if not shutil.which("musl-gcc"):
        subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "musl-tools"], capture_output=True)
    if not shutil.which("musl-gcc"):
        pytest.skip("musl-gcc is missing and could not be installed (scripts/ensure-debs musl-tools)")
    build = tmp_path_factory.mktemp("build-musl")
    p = subprocess.run(["make", "-s", "-C", str(ROOT), "LIBC=musl", f"BUILD={build}", "all"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return build


def run_musl(build, tmp_path, *args):
    out = tmp_path / "out"
    p = subprocess.run([str(build / "spawnlab"), "run", "--probe", str(build / "probe"), "--format", "json",
                        "--out", str(out), *args], capture_output=True, text=True, timeout=600, cwd=ROOT)
    return p, validate(json.loads((out / "result.json").read_text()))


def test_musl_static_binaries(musl):
    for prog in ("spawnlab", "probe"):
        f = subprocess.run(["file", "-L", str(musl / prog)], capture_output=True, text=True).stdout
        if not f:
            pytest.skip("file(1) is not installed")
        assert "statically linked" in f or "static-pie" in f, f


def test_musl_environment_and_backends(musl, tmp_path):
    p, doc = run_musl(musl, tmp_path, "exec/plain_fd_inherited")
    libc = doc["environment"]["libc"]
    assert libc["name"] == "musl"
    ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "musl-dev"], capture_output=True, text=True).stdout
    assert libc["version"] == (ver or "unknown")
    be = {b["name"]: b for b in doc["environment"]["backends"]}
    assert be["pidfd_spawn"]["available"] is False and "no pidfd_spawn" in be["pidfd_spawn"]["reason"]
    # Static: the libc functions are what musl's headers declare, decided at
    # build time, so the answer is a definite yes or no (never a failed lookup).
    build = doc["environment"]["build"]
    assert build["linkage"] == "static" and build["libc"].startswith("musl ")
    assert set(build["libc_functions"].values()) <= {"linked", "none"}, build
    feats = {f["name"]: f["state"] for f in doc["environment"]["features"]}
    for fn, how in build["libc_functions"].items():
        if fn in feats:
            assert feats[fn] == ("yes" if how == "linked" else "no"), (fn, how, feats[fn])
    assert be["posix_spawn"]["available"] is True


@pytest.mark.parametrize("family", ["exec", "libc"])
def test_musl_family_passes(musl, tmp_path, family):
    p, doc = run_musl(musl, tmp_path, family)
    bad = {k: u["reason"] for k, u in units(doc).items() if u["outcome"] in ("fail", "error")}
    assert p.returncode == 0 and not bad, bad
    assert doc["summary"]["pass"] >= 1


def test_musl_posix_spawn_trace(musl, tmp_path):
    """musl src/process/posix_spawn.c: __clone(..., CLONE_VM|CLONE_VFORK|SIGCHLD),
    with its error pipe made by pipe2(O_CLOEXEC) just before."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/ensure-debs strace)")
    p = subprocess.run([str(ROOT / "scripts" / "trace"), "--build", str(musl), "--out", str(tmp_path),
                        "--backend", "posix_spawn"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "trace.json").read_text())
    assert doc["libc"]["name"] == "musl"
    sp = doc["backends"][0]["spawns"]
    assert len(sp) == 1
    cr = sp[0]["creator"]
    assert cr["syscall"] == "clone" and set(cr["flags"]) == {"CLONE_VM", "CLONE_VFORK"}, cr
    assert cr["exit_signal"] == "SIGCHLD"
    assert any(t.startswith("pipe2(") and "O_CLOEXEC" in t for t in sp[0]["parent_before"]), sp[0]
