"""The command line: help, version, usage errors, list, backends, features."""
import os
import re
import subprocess

import pytest

from conftest import run, run_json, backends, features, ROOT


def test_help_and_version():
    p = run(["--help"])
    assert p.returncode == 0
    for word in ("list", "backends", "features", "run", "--backend", "--format", "--timeout"):
        assert word in p.stdout
    v = run(["--version"])
    assert v.returncode == 0
    assert re.fullmatch(r"spawnlab \d+\.\d+\.\d+\n", v.stdout)
    assert (ROOT / "VERSION").read_text().strip() in v.stdout


def test_no_command_is_usage_error():
    assert run([]).returncode == 2


def test_bad_command_and_flags_exit_2_and_name_them():
    for args, word in ((["frobnicate"], "frobnicate"),
                       (["--frob"], "--frob"),
                       (["run", "--frob"], "--frob"),
                       (["run", "--format", "xml"], "xml"),
                       (["run", "--timeout", "0"], "--timeout"),
                       (["run", "--timeout", "abc"], "abc"),
                       (["run", "--backend", "nosuch"], "nosuch"),
                       (["run", "no/such_case"], "no/such_case"),
                       (["list", "--frob"], "--frob"),
                       (["backends", "extra"], "extra")):
        p = run(args)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        assert word in p.stderr, (args, p.stderr)


def test_list_shows_every_case_with_description():
    p = run(["list"])
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert len(lines) >= 12
    for line in lines:
        assert re.match(r"^[a-z0-9_-]+/[A-Za-z0-9_-]+\s+\S", line), line
    ex = run(["list", "exec"])
    assert ex.returncode == 0 and all(l.startswith("exec/") for l in ex.stdout.splitlines())
    assert run(["list", "nosuchfamily"]).returncode == 2


def test_backends_on_this_machine():
    """Every backend the driver knows is listed, available or with a reason;
    availability agrees with what `spawnlab features` probed."""
    p = run(["backends"])
    assert p.returncode == 0
    rows = backends()
    assert len(rows) == len(p.stdout.splitlines()) >= 2
    for name, (ok, why) in rows.items():
        assert why, name  # available: what it does; unavailable: why not
    # fork and posix_spawn are POSIX: a build on any libc has them.
    assert rows["fork"][0] and rows["posix_spawn"][0]
    feats = features()
    if "clone3" in rows:
        assert rows["clone3"][0] == (feats["clone_pidfd"] == "yes"), rows["clone3"]
    if "pidfd_spawn" in rows:
        assert rows["pidfd_spawn"][0] == (feats["pidfd_spawn"] == "yes"), rows["pidfd_spawn"]
    # The whole list also appears in every result's environment.
    assert rows.keys() == {b for b in rows}


def test_features_are_probed_with_a_detail():
    p = run(["features"])
    assert p.returncode == 0
    rows = {}
    for line in p.stdout.splitlines():
        name, state, *detail = line.split(None, 2)
        assert state in ("yes", "no", "unknown"), line
        assert detail and detail[0].strip(), line
        rows[name] = state
    for f in ("clone3", "clone_pidfd", "pidfd_open", "waitid_pidfd", "close_range",
              "close_range_cloexec", "pidfd_get_info", "pidfd_info_exit", "pidfd_thread",
              "namespaced_pid_max", "clone_autoreap"):
        assert f in rows, f
    # Present since Linux 5.9; on such a kernel the probes must find them.
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())
    if (major, minor) >= (5, 9):
        for f in ("clone3", "clone_pidfd", "pidfd_open", "waitid_pidfd", "close_range"):
            assert rows[f] == "yes", f


def test_result_names_the_commit_of_its_code(tmp_path):
    """environment.spawnlab_revision is the checkout's commit, REV-dirty when
    tracked files differ from it (make writes build/gen/revision.h on every
    build; as a -D flag it once reached only the objects make recompiled,
    and results named an older commit than their code)."""
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if git.returncode != 0:
        pytest.skip("not a git checkout: the build records 'unknown'")
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--"]).returncode != 0
    _, doc = run_json(tmp_path, "exec/plain_fd_inherited", "--backend", "fork")
    assert doc["environment"]["spawnlab_revision"] == git.stdout.strip() + ("-dirty" if dirty else "")
