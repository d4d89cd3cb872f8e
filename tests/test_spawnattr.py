"""posix_spawn attributes and file actions (cases/libc/spawn_attr.case):
each row passes, or skips naming the flag or function this libc or build
lacks; a few observations are what glibc's and the kernel's sources say;
the experiment can fail; and the scratch cgroup is gone afterwards."""
import os
from pathlib import Path

import pytest

from conftest import BUILD, backends, features, run, run_json, units

# Rows that need a libc extension, by the feature `spawnlab features` probes.
NEEDS = {"tcsetpgrp": "posix_spawn_file_actions_addtcsetpgrp_np",
         "tcsetpgrp_setsid": "posix_spawn_file_actions_addtcsetpgrp_np",
         "fchdir": "posix_spawn_file_actions_addfchdir_np",
         "fchdir_closed": "posix_spawn_file_actions_addfchdir_np"}
CHDIR_ROWS = {"chdir", "chdir_missing", "chdir_then_open", "open_then_chdir", "chdir_relative_chdir",
              "chdir_relative_program"}


def cgroup2_dirs():
    """Every spawnlab-* folder in the cgroup2 mount, at any depth we could create one."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if " - cgroup2 " in line:
            mnt = line.split()[4]
            return {p for p, _, _ in os.walk(mnt) if os.path.basename(p).startswith("spawnlab-")}
    return set()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    before = cgroup2_dirs()
    p, doc = run_json(tmp_path_factory.mktemp("attr"), "libc/attr_*", "--probe", str(BUILD / "probe"))
    return p, doc, before, cgroup2_dirs()


def test_rows_pass_or_skip_with_reason(result):
    p, doc, _, _ = result
    assert p.returncode == 0
    feats = features()
    ok = {b for b, (avail, _) in backends().items() if avail}
    for c in doc["cases"]:
        row = c["id"].split("/attr_", 1)[1]
        assert c["sources"], c["id"]
        for u in c["backends"]:
            if u["outcome"] == "skip":
                assert u["reason"], (c["id"], u["backend"])
                continue
            assert u["outcome"] == "pass", (c["id"], u["backend"], u["reason"])
        ps = next(u for u in c["backends"] if u["backend"] == "posix_spawn")
        need = NEEDS.get(row) or ("posix_spawn_file_actions_addchdir_np" if row in CHDIR_ROWS else None)
        if need and feats.get(need) == "yes":
            # The tty rows need a pty; a machine without one says so.
            assert ps["outcome"] == "pass" or (row.startswith("tcsetpgrp") and "posix_openpt" in ps["reason"]), \
                (c["id"], ps["reason"])
        if need and feats.get(need) != "yes":
            assert ps["outcome"] == "skip" and need in ps["reason"], (c["id"], ps["reason"])
        if row in ("setsid", "setpgroup_zero", "setpgroup_missing", "setsid_setpgroup", "relative_program"):
            assert ps["outcome"] == "pass", (c["id"], ps["reason"])
    # CLONE_INTO_CGROUP is the kernel's: with clone3 the row runs wherever a cgroup2 mount is.
    cg = units(doc)[("libc/attr_setcgroup", "clone3")]
    if "clone3" in ok and feats.get("clone_into_cgroup") == "yes":
        assert cg["outcome"] == "pass" or "cgroup2" in cg["reason"], cg["reason"]


def test_observations_match_the_sources(result):
    _, doc, _, _ = result
    u = units(doc)
    obs = u[("libc/attr_setsid", "posix_spawn")]["observation"]
    assert obs["sid"] == obs["pgid"] == obs["child.pid"] != obs["spawner.sid"]
    obs = u[("libc/attr_setsid_setpgroup", "posix_spawn")]["observation"]
    assert (obs["spawn.errno"], obs["exit.code"]) == ("EPERM", "none")
    unit = u[("libc/attr_tcsetpgrp", "posix_spawn")]
    if unit["outcome"] == "pass":
        assert unit["observation"]["tty.foreground"] == unit["observation"]["child.pid"]
        assert u[("libc/attr_tcsetpgrp_setsid", "posix_spawn")]["observation"]["spawn.errno"] == "ENOTTY"
    unit = u[("libc/attr_chdir_then_open", "posix_spawn")]
    if unit["outcome"] == "pass":
        o = unit["observation"]
        assert o["fd.10.path"] == o["spawner.tmp"] + "/sub/f" and o["cwd"] == o["spawner.tmp"] + "/sub"
        o = u[("libc/attr_open_then_chdir", "posix_spawn")]["observation"]
        assert o["fd.10.path"] == o["spawner.tmp"] + "/f"


def test_scratch_cgroups_removed(result):
    _, doc, before, after = result
    assert after <= before, after - before
    unit = units(doc)[("libc/attr_setcgroup", "clone3")]
    if unit["outcome"] == "pass":
        o = unit["observation"]
        assert o["cgroup"] == o["cgroup.made"] != o["cgroup.spawner"] and o["cgroup.removed"] == "yes"


def test_experiment_can_fail(tmp_path, cases_dir):
    (cases_dir / "x.case").write_text("case c\ndesc d\nsource s\nbackends posix_spawn\n"
                                      "run spawn_attr row=setsid\nexpect sid = $spawner.sid\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    unit = units(doc)[("t/c", "posix_spawn")]
    assert p.returncode == 1 and unit["outcome"] == "fail", unit


def test_other_backends_do_not_load(tmp_path, cases_dir):
    """spawn_attr calls the libc's own API: a case naming fork is refused
    where it is written, with the backends the kind takes."""
    f = cases_dir / "x.case"
    f.write_text("case c\ndesc d\nsource s\nbackends fork\nrun spawn_attr row=setsid\nexpect spawn.errno = 0\n")
    p = run(["check", str(f)])
    assert p.returncode == 2 and f"{f}:1: " in p.stderr, p.stderr
    assert "own API of posix_spawn,pidfd_spawn,clone3 only" in p.stderr, p.stderr
