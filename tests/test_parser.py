"""Malformed case files: each gives FILE:LINE: expected ..., exit 2, and
never a crash or a hang; a good file parses."""
import os
import re

import pytest

from conftest import run

GOOD = "case ok\ndesc fine\nsource here\nexpect pid > 0\n"

# (name, text, line of the error, words the message must contain)
BAD = [
    ("before_case", "desc no case yet\n", 1, "expected 'case NAME' before 'desc'"),
    ("bad_name", "case bad name!\n", 1, "expected 'case NAME'"),
    ("unknown_keyword", GOOD + "frobnicate 1\n", 5, "expected a keyword"),
    ("no_desc", "case a\nsource s\nexpect pid > 0\n", 1, "expected a 'desc' line"),
    ("no_source", "case a\ndesc d\nexpect pid > 0\n", 1, "expected at least one 'source'"),
    ("no_expect", "case a\ndesc d\nsource s\n", 1, "expected at least one 'expect'"),
    ("unknown_step", GOOD + "setup teleport fd=3\n", 5, "expected a set-up step"),
    ("unknown_step_arg", GOOD + "setup open fd=3 path=/dev/null colour=red\n", 5, "expected one of the arguments"),
    ("missing_step_arg", GOOD + "setup open fd=3\n", 5, "expected argument path="),
    ("bad_fd", GOOD + "setup close fd=99999\n", 5, "fd number 0..1023"),
    ("bad_signal", GOOD + "setup block sig=SIGFOO\n", 5, "signal name"),
    ("bad_flags", GOOD + "setup open fd=3 path=/x flags=O_RDONLY|O_BOGUS\n", 5, "O_BOGUS"),
    ("bad_choice", GOOD + "setup signal sig=USR1 action=explode\n", 5, "one of default|ignore|handle"),
    ("bad_backend", GOOD + "backends fork,spoon\n", 5, "spoon"),
    ("bad_expect_backend", GOOD + "expect[spoon] pid > 0\n", 5, "spoon"),
    ("bad_operator", GOOD + "expect pid => 1\n", 5, "expected an operator"),
    ("no_value", GOOD + "expect pid =\n", 5, "expected a value"),
    ("numeric_op_on_text", GOOD + "expect pid < many\n", 5, "expected a number"),
    ("duplicate_case", GOOD + GOOD.replace("pid > 0", "pid > 1"), 5, "already defined"),
    ("two_spawns", GOOD + "spawn exit=1\nspawn exit=2\n", 6, "one 'spawn'"),
    ("bad_map", GOOD + "spawn map=1:x\n", 5, "map="),
    ("bad_timeout", GOOD + "timeout 100000\n", 5, "timeout SECONDS"),
    ("unknown_feature", GOOD + "needs warp_drive\n", 5, "warp_drive"),
    ("unclosed_quote", GOOD + 'setup open fd=3 path="/tmp/a b\n', 5, "closing"),
    ("nul_byte", GOOD + "desc x\0y\n", 5, "NUL"),
    ("long_line", GOOD + "source " + "x" * 5000 + "\n", 5, "at most 4096"),
    ("empty", "", 1, "at least one 'case NAME'"),
    ("dup_expect", GOOD + "expect pid > 0\n", 5, "already expected"),
    # Findings are bound to a documented expectation and say what the machine does.
    ("finding_unbound", GOOD + "finding[fork] fds = 0,1  nothing expects fds\n", 5, "expected an 'expect fds"),
    ("finding_no_why", GOOD + "finding pid = 1\n", 5, "what the machine does and why"),
    ("finding_no_value", GOOD + "finding pid =\n", 5, "expected a value"),
    ("finding_backend_not_run", "case a\ndesc d\nsource s\nbackends fork\nexpect pid > 0\n"
     "finding[vfork] pid = 0 why\n", 6, "backends that the case runs"),
    ("finding_bad_libc", GOOD + "finding[libc=bionic] pid = 0 why\n", 5, "libc=glibc or libc=musl"),
    ("finding_twice", GOOD + "finding pid = 0 why\nfinding pid = 1 why\n", 6, "one finding per key"),
    # Typed sources.
    ("source_bad_type", GOOD + "source mann:signal.7 x\n", 5, "expected a source type"),
    ("source_bad_commit", GOOD + "source commit:xyz\n", 5, "commit id"),
    # Every case has a positive control; nothing is true by construction.
    ("no_positive_control", "case a\ndesc d\nsource s\nexpect fd.10 = closed\n", 1, "positive control"),
    ("closed_without_open", "case a\ndesc d\nsource s\nexpect fd.10 = closed\nexpect pid > 0\n", 1,
     "no fds at all"),
    ("cloexec_in_probe", GOOD + "expect fd.10.cloexec = no\n", 5, "true by construction"),
]


@pytest.mark.parametrize("name,text,line,words", BAD, ids=[b[0] for b in BAD])
def test_malformed_case_file(tmp_path, name, text, line, words):
    fam = tmp_path / "cases" / "bad"
    fam.mkdir(parents=True)
    f = fam / f"{name}.case"
    f.write_bytes(text.encode())
    env = dict(os.environ, SPAWNLAB_CASES=str(tmp_path / "cases"))
    for args in (["check", str(f)],
                 ["run", "--cases", str(tmp_path / "cases"), "--out", str(tmp_path / "o")],
                 ["list"]):
        p = run(args, timeout=30, env=env)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        first = p.stderr.splitlines()[0]
        assert re.match(rf"^{re.escape(str(f))}:{line}: ", first), (args, first)
        assert words in p.stderr, (args, p.stderr)
        assert "expected" in first or "cannot" in first, first
    # a bad file makes the run refuse to start: no result written
    assert not (tmp_path / "o" / "result.json").exists()


def test_good_file_checks(tmp_path):
    f = tmp_path / "good.case"
    f.write_text(GOOD + "# comment\n\ncase second\ndesc d\nsource s\nsetup open fd=3 path=\"/tmp/a b\" "
                 "flags=O_RDONLY|O_CLOEXEC\nspawn map=3:4,5 stdio=no exit=3\nexpect[pdspawn,fork] fd.4 = chr\n")
    p = run(["check", str(f)])
    assert p.returncode == 0, p.stderr
    assert "2 cases parsed" in p.stdout


def test_all_shipped_cases_parse():
    p = run(["check"])
    assert p.returncode == 0, p.stderr
