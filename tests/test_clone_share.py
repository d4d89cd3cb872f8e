"""The clone mechanics vfork-style spawns rely on (cases/clone/share.case):
what CLONE_VM, CLONE_FS, CLONE_FILES and CLONE_SIGHAND share, that the mask
is never shared, that CLONE_VFORK holds the parent until exec or exit, and
the flag combinations clone(2) refuses."""
import pytest

from conftest import BUILD, run_json, units


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    # The clone family also holds the clone3 flag cases (flag_*, test_pidfd.py).
    return run_json(tmp_path_factory.mktemp("clone"), "clone/share_*", "clone/refuse*", "clone/vfork*", "clone/no_vfork",
                    "--probe", str(BUILD / "probe"))


def test_family_passes(result):
    p, doc = result
    assert p.returncode == 0
    assert len(doc["cases"]) == 21
    for c in doc["cases"]:
        assert c["sources"], c["id"]
        assert [(u["backend"], u["outcome"]) for u in c["backends"] if u["outcome"] != "skip"] == \
            [("none", "pass")], c["id"]


def test_sharing_is_the_flag(result):
    _, doc = result
    u = units(doc)
    for row in ("vm", "fs_cwd", "fs_umask", "files", "sighand"):
        yes = u[(f"clone/share_{row}_yes", "none")]["observation"]
        no = u[(f"clone/share_{row}_no", "none")]["observation"]
        assert yes["share.before"] != yes["share.after"] and no["share.before"] == no["share.after"], row
    o = u[("clone/vfork_vm_exec", "none")]["observation"]
    # exec releases the vfork parent before it switches the mm (fs/exec.c
    # exec_mmap): /proc/PID/exe may still name the old image for a moment.
    assert o["vfork.stage_at_return"] == "2" and o["vfork.exe_at_return"] in ("new_image", "old_image")
    assert int(u[("clone/no_vfork", "none")]["observation"]["vfork.stage_at_return"]) < 2


@pytest.mark.parametrize("row,expect", [("sigmask share=yes", "expect share.seen = yes"),
                                        ("no_vfork", "expect vfork.stage_at_return = 2"),
                                        ("fs_with_newns", "expect clone.errno = 0")])
def test_experiment_can_fail(tmp_path, cases_dir, row, expect):
    (cases_dir / "x.case").write_text(f"case c\ndesc d\nsource s\nbackends none\nrun clone_share row={row}\n{expect}\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    assert p.returncode == 1 and units(doc)[("t/c", "none")]["outcome"] == "fail"
