"""The kselftest-style install (issue 23 item 2): scripts/kselftest-install
lays spawnlab out as the kselftest collection `spawnlab`, one test per
family.  A small runner here follows the kernel's run_kselftest.sh and
kselftest/runner.sh (kselftest-list.txt, per-collection settings, cd into
the collection, `timeout --foreground T timeout T ./TEST`, exit 4 = SKIP,
124 = TIMEOUT, KSELFTEST_<TEST>_ARGS, child output prefixed "# "), and the
KTAP each test prints is parsed and checked against its result.json."""
import json
import os
import re
import shlex
import subprocess
import time

from conftest import BUILD, ROOT, run, validate

INSTALL = ROOT / "scripts" / "kselftest-install"
DEFAULT_TIMEOUT = 45  # kselftest/runner.sh's kselftest_default_timeout


def install(dest, *args):
    p = subprocess.run([str(INSTALL), "--build", str(BUILD), *args, str(dest)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p


def run_kselftest(top, tests=None, env=None):
    """Run the installed tests as the kernel's runner does; returns the
    runner's TAP lines and, per test, (exit status, the test's own output)."""
    env = dict(os.environ, **(env or {}))
    available = (top / "kselftest-list.txt").read_text().split()
    chosen = tests or available
    assert set(chosen) <= set(available), chosen
    lines = ["TAP version 13", f"1..{len(chosen)}"]
    per_test = {}
    for num, entry in enumerate(chosen, 1):
        coll, test = entry.split(":", 1)
        timeout = DEFAULT_TIMEOUT
        settings = top / coll / "settings"
        if settings.exists():
            for line in settings.read_text().splitlines():
                if line.startswith("#") or "=" not in line:
                    continue
                field, value = line.split("=", 1)
                if field == "timeout":
                    timeout = int(value)
        var = "KSELFTEST_" + re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"[\s\x00-\x1f]", "", test)).upper() + "_ARGS"
        hdr = f"selftests: {coll}: {test}"
        lines.append(f"# {hdr}")
        assert os.access(top / coll / test, os.X_OK), f"{entry} is not executable"
        p = subprocess.run(["timeout", "--foreground", str(timeout), "timeout", str(timeout), f"./{test}",
                            *shlex.split(env.get(var, ""))], cwd=top / coll, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout + 60)
        lines += ["# " + l for l in p.stdout.splitlines()]
        rc = p.returncode
        lines.append(f"ok {num} {hdr}" if rc == 0 else f"ok {num} {hdr} # SKIP" if rc == 4 else
                     f"not ok {num} {hdr} # TIMEOUT {timeout} seconds" if rc == 124 else
                     f"not ok {num} {hdr} # exit={rc}")
        per_test[entry] = (rc, p.stdout)
    return lines, per_test


RESULT = re.compile(r"^(not ok|ok) (\d+) (\S+)(?: # (SKIP|XFAIL|XPASS)(?: (.*))?)?$")


def parse_ktap(text):
    """spawnlab's KTAP: a plan, one result per case with the backends as an
    indented subtest, and the totals line.  Returns {case id: (ok, directive)}
    and the totals; asserts the shape on the way."""
    lines = text.splitlines()
    assert lines[0] == "TAP version 13", lines[:3]
    plan = int(re.fullmatch(r"1\.\.(\d+)", lines[1]).group(1))
    results, sub = {}, []
    for line in lines[2:]:
        if line.startswith("    "):
            sub.append(line[4:])
            continue
        m = RESULT.match(line)
        if m:
            assert int(m.group(2)) == len(results) + 1, line
            assert sub[0] == "KTAP version 1", sub[:2]
            n = int(next(l for l in sub if re.fullmatch(r"1\.\.\d+", l))[3:])
            assert len([l for l in sub if RESULT.match(l)]) == n, sub
            results[m.group(3)] = (m.group(1) == "ok", m.group(4))
            sub = []
    totals = dict(kv.split(":") for kv in re.fullmatch(r"# Totals: (.*)", lines[-1]).group(1).split())
    assert len(results) == plan
    return results, {k: int(v) for k, v in totals.items()}


def test_install_lays_out_a_kselftest_collection(tmp_path):
    top = tmp_path / "kselftest"
    top.mkdir()
    (top / "kselftest-list.txt").write_text("timers:nanosleep\nspawnlab:stale\n")
    install(top)
    install(top)  # a second install replaces the first
    listed = (top / "kselftest-list.txt").read_text().splitlines()
    assert listed[0] == "timers:nanosleep"  # other collections are kept
    ours = [l.split(":", 1)[1] for l in listed if l.startswith("spawnlab:")]
    # One test per family that a plain run selects, read from the driver.
    p = run(["list"])
    plain = {l.split()[0].split("/")[0] for l in p.stdout.splitlines() if "[explicit]" not in l}
    explicit_only = {l.split()[0].split("/")[0] for l in p.stdout.splitlines()} - plain
    assert sorted(ours) == sorted(plain) and len(ours) == len(set(ours))
    assert "bench" in explicit_only and "bench" not in ours
    coll = top / "spawnlab"
    for t in ours:
        assert os.access(coll / t, os.X_OK)
    assert (coll / "settings").read_text().splitlines()[-1] == "timeout=900"
    assert os.access(coll / "bin" / "spawnlab", os.X_OK) and os.access(coll / "bin" / "probe", os.X_OK)


def test_installed_families_print_ktap_that_matches_their_results(tmp_path):
    top, keep = tmp_path / "ksft", tmp_path / "results"
    install(top)
    tests = ["spawnlab:exec", "spawnlab:libc"]
    lines, per_test = run_kselftest(top, tests, env={"SPAWNLAB_KSFT_OUT": str(keep)})
    for num, entry in enumerate(tests, 1):
        fam = entry.split(":")[1]
        rc, out = per_test[entry]
        doc = validate(json.loads((keep / fam / "result.json").read_text()))
        assert (keep / fam / "junit.xml").exists()
        results, totals = parse_ktap(out)
        assert list(results) == [c["id"] for c in doc["cases"]]
        assert all(cid.startswith(fam + "/") for cid in results)
        s = doc["summary"]
        assert totals == {k: s[k] for k in ("pass", "fail", "xfail", "xpass", "skip", "error")}
        for c in doc["cases"]:
            ok, directive = results[c["id"]]
            assert ok == (c["outcome"] not in ("fail", "error")), c["id"]
            assert directive == {"skip": "SKIP", "xfail": "XFAIL", "xpass": "XPASS"}.get(c["outcome"]), c["id"]
        want = 1 if s["fail"] or s["error"] else 4 if s["skip"] == s["run"] else 0
        assert rc == want
        verdict = {0: f"ok {num} selftests: spawnlab: {fam}", 4: f"ok {num} selftests: spawnlab: {fam} # SKIP",
                   1: f"not ok {num} selftests: spawnlab: {fam} # exit=1"}[want]
        assert verdict in lines
        # The runner's view: the test's KTAP is nested as "# " comments.
        assert f"# # Totals: pass:{s['pass']} fail:{s['fail']} xfail:{s['xfail']} xpass:{s['xpass']} " \
               f"skip:{s['skip']} error:{s['error']}" in lines


FAMILIES = {
    "good": "case a\ndesc passes\nsource this test\nexpect pid > 0\n",
    "bad": "case a\ndesc passes\nsource this test\nexpect pid > 0\n\n"
           "case b\ndesc fails\nsource this test\nexpect pid = 1\n",
    "skipped": "case a\ndesc only fork\nsource this test\nbackends fork\nexpect pid > 0\n",
    "slow": "case a\ndesc outlives the runner's timeout\nsource this test\ntimeout 120\n"
            "spawn sleep=60000\nexpect pid > 0\n",
    "benchy": "case a\ndesc explicit only\nsource this test\nexplicit\nexpect pid > 0\n",
}


def leftovers(top):
    mine = {str(top / "spawnlab" / "bin" / p) for p in ("spawnlab", "probe")}
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/exe") in mine:
                    found.append(int(d))
            except OSError:
                pass
    return found


def test_exit_codes_skip_and_timeout_follow_kselftest(tmp_path):
    cases = tmp_path / "cases"
    for fam, text in FAMILIES.items():
        (cases / fam).mkdir(parents=True)
        (cases / fam / "t.case").write_text(text)
    top = tmp_path / "ksft"
    install(top, "--cases", str(cases), "--timeout", "5")
    listed = (top / "kselftest-list.txt").read_text().split()
    assert sorted(listed) == ["spawnlab:bad", "spawnlab:good", "spawnlab:skipped", "spawnlab:slow"]
    t0 = time.monotonic()
    lines, per_test = run_kselftest(top, ["spawnlab:good", "spawnlab:bad", "spawnlab:skipped", "spawnlab:slow"],
                                    env={"KSELFTEST_SKIPPED_ARGS": "--backend vfork,pdspawn"})
    assert "ok 1 selftests: spawnlab: good" in lines
    assert "not ok 2 selftests: spawnlab: bad # exit=1" in lines
    assert "ok 3 selftests: spawnlab: skipped # SKIP" in lines
    assert "not ok 4 selftests: spawnlab: slow # TIMEOUT 5 seconds" in lines
    assert time.monotonic() - t0 < 50
    # The timed-out test's driver stopped and took its sandbox with it.
    deadline = time.monotonic() + 5
    while leftovers(top) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(top) == []
    # A killed test printed a partial KTAP, never a plan it did not keep.
    out = per_test["spawnlab:slow"][1]
    assert out.startswith("TAP version 13\n1..1\n") and "Bail out!" in out


def test_install_refuses_bad_input(tmp_path):
    p = subprocess.run([str(INSTALL), "--build", str(tmp_path), str(tmp_path / "x")], capture_output=True, text=True)
    assert p.returncode == 2 and "no spawnlab in" in p.stderr
    cases = tmp_path / "cases" / "bin"
    cases.mkdir(parents=True)
    (cases / "t.case").write_text(FAMILIES["good"])
    p = subprocess.run([str(INSTALL), "--build", str(BUILD), "--cases", str(tmp_path / "cases"), str(tmp_path / "y")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "collide" in p.stderr
