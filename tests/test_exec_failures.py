"""Exec failures beyond ENOENT/EACCES (cases/exec/exec_failures.case,
exec_args.case, cases/libc/exec_search.case): how each backend reports each
errno, what an empty argv gives the program, E2BIG at both kernel limits,
and which libc entry points run a script without #! through sh."""
import pytest

from conftest import BUILD, available_backends, run_json, units

PATTERNS = ["exec/exec_*", "exec/empty_argv", "exec/args_*", "libc/*_noexec"]
# The backends that return the child's exec errno (harness/backends/backend_*.c,
# glibc/musl spawni, pdspawn promise 5); the others can only exit 127.
SYNCHRONOUS = {"posix_spawn", "pidfd_spawn", "pdspawn"}
ERRNO_TABLE = {"exec/exec_noexec_script": "ENOEXEC", "exec/exec_notdir": "ENOTDIR",
               "exec/exec_nametoolong": "ENAMETOOLONG", "exec/exec_symlink_loop": "ELOOP",
               "exec/exec_interp_loop": "ELOOP", "exec/exec_interp_missing": "ENOENT",
               "exec/exec_directory": "EACCES", "exec/exec_text_busy": "ETXTBSY",
               "exec/args_long_string": "E2BIG", "exec/args_over_limit": "E2BIG"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    p, doc = run_json(tmp_path_factory.mktemp("execfail"), *PATTERNS, "--probe", str(BUILD / "probe"))
    return p, doc


def test_cases_pass_here(result):
    p, doc = result
    assert p.returncode == 0, [(c["id"], [u["reason"] for u in c["backends"]]) for c in doc["cases"]
                               if c["outcome"] not in ("pass", "xfail", "skip")]
    ids = {c["id"] for c in doc["cases"]}
    assert set(ERRNO_TABLE) | {"exec/empty_argv", "libc/execvp_path_noexec"} <= ids
    for c in doc["cases"]:
        assert c["sources"], c["id"]
        assert c["outcome"] in ("pass", "xfail"), (c["id"], c["outcome"])


def test_errno_by_backend(result):
    """The table the cases assert, read back from the observations: the
    errno where the backend has a channel for it, exit 127 where not."""
    _, doc = result
    u = units(doc)
    for cid, err in ERRNO_TABLE.items():
        for b in available_backends():
            obs = u[(cid, b)]["observation"]
            if b in SYNCHRONOUS:
                assert (obs["spawn.errno"], obs["exit.code"]) == (err, "none"), (cid, b)
            else:
                assert (obs["spawn.errno"], obs["exit.code"]) == ("0", "127"), (cid, b)
            assert "probe.end" not in obs, (cid, b)


def test_empty_argv_gives_one_empty_argument(result):
    _, doc = result
    for b in available_backends():
        obs = units(doc)[("exec/empty_argv", b)]["observation"]
        assert (obs["argc"], obs["argv0.len"], obs["probe.end"]) == ("1", "0", "1"), b


def test_no_shell_retry_but_glibc_execvp(result):
    _, doc = result
    u = units(doc)
    libc = doc["environment"]["libc"]["name"]
    for call in ("posix_spawn", "posix_spawnp", "execv"):
        obs = u[(f"libc/{call}_path_noexec", "posix_spawn")]["observation"]
        assert (obs["search.errno"], obs["shell.ran"]) == ("ENOEXEC", "no"), call
    unit = u[("libc/execvp_path_noexec", "posix_spawn")]
    if libc == "musl":
        assert unit["outcome"] == "xfail" and unit["observation"]["search.errno"] == "ENOEXEC"
    else:
        assert unit["outcome"] == "pass" and unit["observation"]["exit.code"] == "42"


@pytest.mark.parametrize("run_line,expect,word", [
    ("run exec_args argv=empty", "expect argc = 0", "argc"),
    ("run exec_args argv=over_limit", "expect spawn.errno = 0", "E2BIG"),
    ("run exec_search call=posix_spawnp", "expect search.errno = 0", "ENOEXEC"),
])
def test_experiments_can_fail(tmp_path, cases_dir, run_line, expect, word):
    backends = "posix_spawn" if "exec_search" in run_line else "posix_spawn,fork"
    (cases_dir / "x.case").write_text(f"case c\ndesc d\nsource s\nbackends {backends}\n{run_line}\n{expect}\n")
    p, doc = run_json(tmp_path, "--cases", str(cases_dir.parent), "--probe", str(BUILD / "probe"))
    unit = units(doc)[("t/c", "posix_spawn")]
    assert p.returncode == 1 and unit["outcome"] == "fail", unit
    assert word in unit["reason"], unit["reason"]
