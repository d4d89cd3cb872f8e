"""A CLONE_FILES-shared fd table (cases/fd/share.case): close_range with and
without CLOSE_RANGE_UNSHARE and CLOSE_RANGE_CLOEXEC, sparse, above a lowered
RLIMIT_NOFILE, and exec from a CLONE_VFORK|CLONE_FILES child."""
import pytest

from conftest import BUILD, features, run_json, units


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_json(tmp_path_factory.mktemp("share"), "fd/share_*", "--probe", str(BUILD / "probe"))


def test_cases_pass_or_skip_with_reason(result):
    p, doc = result
    assert p.returncode == 0
    assert len(doc["cases"]) == 12
    feats = features()
    for c in doc["cases"]:
        u = next(x for x in c["backends"] if x["backend"] == "none")
        if u["outcome"] == "skip":
            assert "needs close_range" in u["reason"], (c["id"], u["reason"])
            assert feats["close_range"] != "yes" or feats["close_range_cloexec"] != "yes" or \
                feats["close_range_unshare"] != "yes"
        else:
            assert u["outcome"] == "pass", (c["id"], u["reason"])
        assert [x for x in c["backends"] if x["backend"] != "none" and x["outcome"] != "skip"] == []


def test_shared_table_seen_from_both_sides(result):
    _, doc = result
    u = units(doc)
    if u[("fd/share_shared_close", "none")]["outcome"] != "pass":
        pytest.skip("close_range is not here")
    o = u[("fd/share_shared_close", "none")]["observation"]
    assert o["parent.fd.10"] == o["child.fd.10"] == "closed"
    o = u[("fd/share_vfork_files_exec", "none")]["observation"]
    assert o["parent.fd.11"] == "cloexec" and "fd.11" not in o and o["fd.10"] == "chr"
    o = u[("fd/share_sparse_unshare", "none")]["observation"]
    assert int(o["child.fdsize"]) < int(o["parent.fdsize"]) and o["parent.fd.1000"] == "plain"


def test_experiment_can_fail(tmp_path, cases_dir):
    (cases_dir / "x.case").write_text("case c\ndesc d\nsource s\nbackends none\n"
                                      "run fd_share row=unshare_close\nexpect parent.fd.10 = closed\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    unit = units(doc)[("t/c", "none")]
    assert p.returncode == 1 and unit["outcome"] == "fail" and "plain" in unit["reason"], unit
