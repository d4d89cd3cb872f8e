"""The EINTR interruption matrix: every row under every mode runs, passes
or skips with a reason, and the recorded outcomes of a few rows are the ones
signal(7) documents.  Where Linux disagrees with signal(7) the case carries
a finding bound to its expectation; which cases those are, and what the
machine does instead, is read from the result (a different kernel may have
other findings or none), never from a list here."""
import re

import pytest

from conftest import ROOT, available_backends, finding_units, subset, units

MODES = ("handler", "restart", "stopcont", "sigchld")
ROWS = re.findall(r"X\((\w+)\)", (ROOT / "harness" / "families" / "eintr" / "eintr.h").read_text())


@pytest.fixture(scope="module")
def result(default_run):
    """The family from the session's default run: every row and mode on
    every backend, the call=all summary of a pidfd parent among them."""
    return subset(default_run.doc, "eintr/*")


def test_matrix_is_complete(result):
    assert len(ROWS) >= 35
    ids = {c["id"] for c in result["cases"]}
    for row in ROWS:
        for mode in MODES:
            assert f"eintr/{row}_{mode}" in ids


def test_every_row_passes_skips_or_reproduces_its_finding(result):
    for c in result["cases"]:
        for u in c["backends"]:
            if u["outcome"] == "skip":
                assert u["reason"], c["id"]
                continue
            # A unit is xfail only when the documented expectation failed and
            # the machine did exactly what the finding records.
            if u["outcome"] == "xfail":
                assert u["findings"] and any(f["holds"] and not f["documented_ok"] for f in u["findings"])
                continue
            assert u["outcome"] in ("pass", "xpass"), (c["id"], u["backend"], u["reason"])
    ran = [c for c in result["cases"] if c["outcome"] in ("pass", "xfail", "xpass")]
    assert len(ran) >= 35 * 4


def test_findings_state_what_the_machine_does(result):
    """Each judged finding names its key, the value the machine gave, and
    whether the documented expectation held; an xfail's observed value is
    the finding's."""
    for c, u in finding_units(result):
        for f in u["findings"]:
            assert f["actual"] == u["observation"][f["key"]]
            if u["outcome"] == "xfail":
                assert f["holds"] and f["actual"] == f["expected"]
                assert "known finding" in u["reason"]
            if u["outcome"] == "xpass":
                assert f["documented_ok"]


def test_outcomes_match_signal7(result):
    u = units(result)
    obs = lambda cid, be="fork": u[(cid, be)]["observation"]
    # read(2) on a pipe: EINTR without SA_RESTART, restarted (and completed) with it.
    assert obs("eintr/pipe_read_handler")["eintr.result"] == "eintr"
    assert obs("eintr/pipe_read_handler")["eintr.errno"] == "EINTR"
    assert obs("eintr/pipe_read_restart")["eintr.result"] == "restarted"
    assert obs("eintr/pipe_read_restart")["eintr.ret"] == "1"
    # poll(2) is never restarted; epoll_wait(2) also fails after SIGSTOP/SIGCONT.
    assert obs("eintr/poll_restart")["eintr.result"] == "eintr"
    assert obs("eintr/epoll_wait_stopcont")["eintr.result"] == "eintr"
    assert obs("eintr/poll_stopcont")["eintr.result"] == "restarted"
    # A partial transfer returns its count.
    n = u[("eintr/pipe_write_partial_handler", "fork")]["numbers"]
    assert 0 < n["partial_bytes"]
    # nanosleep reports the time left.
    assert obs("eintr/nanosleep_handler")["eintr.rem"] == "reported"


def test_every_row_was_seen_asleep_in_its_own_call(result):
    """/proc showed each interrupted party asleep in the row's system call
    (the number is this architecture's, from the row's table)."""
    for (cid, b), unit in units(result).items():
        if unit["outcome"] in ("pass", "xfail", "xpass") and "eintr.call" in unit["observation"]:
            assert unit["observation"]["eintr.blocked_in_row_call"] == "yes", cid


def test_same_parent_set_up_same_interruptions_for_every_backend(result):
    """Like with like: with a SIGCHLD handler (each row's CALL_sigchld
    case) every backend's exec'd child interrupts the calls (exec resets
    the exit signal to SIGCHLD, pdspawn's too); with SIGCHLD at its default
    and pidfd waiting (the call=all summary), none does."""
    u = units(result)
    backends = available_backends()
    assert len(backends) >= 2
    classic = {b: {row: u[(f"eintr/{row}_sigchld", b)]["observation"]["eintr.result"] for row in ROWS
                   if u[(f"eintr/{row}_sigchld", b)]["outcome"] != "skip"} for b in backends}
    descr = {b: u[("eintr/summary_sigchld_descriptor_parent", b)]["numbers"] for b in backends}
    for b in backends:
        got = list(classic[b].values())
        assert len(got) >= 60 and got.count("eintr") > 50 and "completed" not in got, (b, classic[b])
        assert descr[b]["rows_eintr"] == 0 and descr[b]["rows_partial"] == 0, (b, descr[b])
        assert descr[b]["rows_completed"] == descr[b]["rows_run"] - 1, (b, descr[b])  # wait() reaps the child
    # The same calls, with the same result, whatever the backend: the
    # parent's set-up decides.
    assert len({tuple(sorted(r.items())) for r in classic.values()}) == 1, classic
