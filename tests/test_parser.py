"""Malformed case files: each gives FILE:LINE: expected ..., exit 2, and
never a crash or a hang; a good file parses."""
import json
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
    ("finding_bad_libc_bound", GOOD + "finding[libc=glibc<<2] pid = 0 why\n", 5, "version bound"),
    ("finding_libc_no_version", GOOD + "finding[libc=musl>=] pid = 0 why\n", 5, "version bound"),
    ("finding_bad_kernel", GOOD + "finding[kernel<<6] pid = 0 why\n", 5, "kernel bound like kernel<6.1"),
    ("finding_twice", GOOD + "finding pid = 0 why\nfinding pid = 1 why\n", 6, "one finding per key"),
    # Typed sources.
    ("source_bad_type", GOOD + "source mann:signal.7 x\n", 5, "expected a source type"),
    ("source_bad_commit", GOOD + "source commit:xyz\n", 5, "commit id"),
    # Every case has a positive control; nothing is true by construction.
    ("no_positive_control", "case a\ndesc d\nsource s\nexpect fd.10 = closed\n", 1, "positive control"),
    ("closed_without_open", "case a\ndesc d\nsource s\nexpect fd.10 = closed\nexpect pid > 0\n", 1,
     "no fds at all"),
    ("cloexec_in_probe", GOOD + "expect fd.10.cloexec = no\n", 5, "true by construction"),
    # The key registry: a key nothing in the case records is refused where it is written.
    ("unknown_probe_key", GOOD + "expect rlimit.cor.soft = 0\n", 5, "expected a key that the probe records"),
    ("unknown_fd_subkey", GOOD + "expect fd.3.cloexex = no\n", 5, "got 'fd.3.cloexex'"),
    ("unknown_experiment_key", "case a\ndesc d\nsource s\nbackends clone3\nrun clone_flag flag=newtime\n"
     "expect flag.knwn = yes\n", 6, "expected a key that clone_flag records"),
    ("probe_key_in_experiment", "case a\ndesc d\nsource s\nbackends clone3\nrun clone_flag flag=newtime\n"
     "expect flag.known = yes\nexpect umask = 0022\n", 7, "got 'umask'"),
    ("unknown_show_key", GOOD + "show num.leaks\n", 1, "got 'num.leaks'"),
    # The backends a kind takes, declared in its own file.
    ("own_api_other_backend", "case a\ndesc d\nsource s\nbackends clone3,fork\nrun clone_flag flag=newtime\n"
     "expect flag.known = yes\n", 1, "calls the own API of clone3 only"),
    ("own_children_without_none", "case a\ndesc d\nsource s\nbackends fork\nrun pid_ns scenario=set_tid_levels\n"
     "expect settid.errno = 0\n", 1, "expected 'backends none'"),
    ("none_with_a_spawn", GOOD + "backends none\n", 1, "'backends none' expected only with an experiment"),
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
                 "flags=O_RDONLY|O_CLOEXEC\nspawn map=3:4,5 stdio=no exit=3\nexpect[pdspawn,fork] fd.4 = chr\n"
                 # every resource the rlimit step sets, the probe reports (issue 17's rlimit.core)
                 "\ncase core\ndesc d\nsource s\nsetup rlimit resource=core soft=0 hard=0\n"
                 "expect rlimit.core.soft = 0\nexpect rlimit.core.hard = 0\n")
    p = run(["check", str(f)])
    assert p.returncode == 0, p.stderr
    assert "3 cases parsed" in p.stdout


def test_a_kind_names_the_backends_a_case_leaves_out(tmp_path):
    """No `backends` line: the backends the experiment's kind takes (clone3
    for clone_flag, none for pid_ns), so such a case loads without one."""
    f = tmp_path / "implied.case"
    f.write_text("case a\ndesc d\nsource s\nrun clone_flag flag=newtime\nexpect flag.known = yes\n\n"
                 "case b\ndesc d\nsource s\nrun pid_ns scenario=set_tid_levels\nexpect settid.errno = 0\n")
    p = run(["check", str(f)])
    assert p.returncode == 0, p.stderr


def test_all_shipped_cases_parse():
    p = run(["check"])
    assert p.returncode == 0, p.stderr


# ---- tables and templates ---------------------------------------------------

TABLE = """table t name kind
row   a chr
row   b "two words"
"""


@pytest.mark.parametrize("name,text,line,words", [
    ("unknown_table", "case x_${v}\nfor nosuch\ndesc d\nsource s\nexpect pid > 0\n", 2, "table defined above"),
    ("row_width", TABLE + "row c\ncase x\ndesc d\nsource s\nexpect pid > 0\n", 4, "expected 2 values"),
    ("table_twice", TABLE + "table t a\nrow 1\ncase x\ndesc d\nsource s\nexpect pid > 0\n", 4, "already defined"),
    ("bad_column", "table t 9lives\nrow 1\ncase x\ndesc d\nsource s\nexpect pid > 0\n", 1, "column name"),
    ("empty_table", "table t a\ncase x\ndesc d\nsource s\nexpect pid > 0\n", 1, "at least one 'row'"),
    ("bad_vary", "case x_${v}\nvary v 1 2\ndesc d\nsource s\nexpect pid > 0\n", 2, "vary NAME = VALUE"),
    ("bad_let", "case x_${v}\nlet v\ndesc d\nsource s\nexpect pid > 0\n", 2, "let NAME = TEXT"),
    ("no_match", TABLE + "case x_${name}\nvary kind = pipe\nfor t\ndesc d\nsource s\nexpect pid > 0\n", 6,
     "no row matches"),
    ("instance_error", TABLE + "case x_${name}\nfor t\ndesc d\nsource s\nexpect fd.10 = ${kind}\n"
     "setup close fd=${name}\n", 9, "in the instance name=a kind=chr"),
    ("instance_dup", TABLE + "case x\nfor t\ndesc d\nsource s\nexpect pid > 0\n", 4, "already defined"),
], ids=lambda x: x if isinstance(x, str) and "\n" not in x and " " not in x and len(x) < 20 else None)
def test_malformed_template(tmp_path, name, text, line, words):
    f = tmp_path / f"{name}.case"
    f.write_text(text)
    p = run(["check", str(f)], timeout=30)
    assert p.returncode == 2, p.stderr
    first = p.stderr.splitlines()[0]
    assert re.match(rf"^{re.escape(str(f))}:{line}: ", first), first
    assert words in p.stderr, p.stderr


def test_template_instances(tmp_path):
    """for/vary/let make the cartesian product, joins look values up, ${}
    nests, filters keep lines per instance; the instances are plain cases."""
    f = tmp_path / "cases" / "t" / "x.case"
    f.parent.mkdir(parents=True)
    f.write_text(TABLE + """
table look kind size
row   chr 1
row   "two words" 2

case    c_${name}_${n}
for     t
vary    n = 1 2
for     look
let     both = ${name}${n}
desc    kind ${kind}, size ${size}, both ${both}, var ${${name}_var}
source  man:open.2 ${name}
source[name=b n!=2] posix:open only b1
expect  pid > 0
expect[name=a fork] ppid > 0
expect  cwd = ${spawner.tmp}
""".replace("${${name}_var}", "${a_var}"))
    p = run(["list"], env=dict(os.environ, SPAWNLAB_CASES=str(tmp_path / "cases")))
    assert p.returncode == 0, p.stderr
    got = dict(line.split(None, 1) for line in p.stdout.splitlines())
    assert got == {"t/c_a_1": "kind chr, size 1, both a1, var ${a_var}",
                   "t/c_a_2": "kind chr, size 1, both a2, var ${a_var}",
                   "t/c_b_1": "kind two words, size 2, both b1, var ${a_var}",
                   "t/c_b_2": "kind two words, size 2, both b2, var ${a_var}"}
    out = tmp_path / "o"
    p = run(["run", "--cases", str(tmp_path / "cases"), "--backend", "fork,vfork", "--out", str(out)])
    assert p.returncode == 0, p.stdout
    doc = json.loads((out / "result.json").read_text())
    cases = {c["id"]: c for c in doc["cases"]}
    assert [s["ref"] for s in cases["t/c_b_1"]["sources"]] == ["open.2", "open"]
    assert [s["ref"] for s in cases["t/c_b_2"]["sources"]] == ["open.2"]
    a1 = {u["backend"]: [e["key"] for e in u["expectations"]] for u in cases["t/c_a_1"]["backends"]}
    assert a1 == {"fork": ["pid", "ppid", "cwd"], "vfork": ["pid", "cwd"]}
    # ${spawner.tmp} was left for the run and expanded there.
    assert all(e["ok"] for c in doc["cases"] for u in c["backends"] for e in u["expectations"])
