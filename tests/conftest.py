"""Shared helpers: the tests drive the real binaries in $SPAWNLAB_BUILD
(default ../build) against the real kernel."""
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("SPAWNLAB_BUILD", ROOT / "build"))
SPAWNLAB = BUILD / "spawnlab"
PROBE = BUILD / "probe"
SCHEMA = json.loads((ROOT / "reports" / "result.schema.json").read_text())


def run(args, timeout=300, **kw):
    """Run spawnlab with ARGS; returns the CompletedProcess (text)."""
    return subprocess.run([str(SPAWNLAB), *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def validate(doc):
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft7Validator)
    return doc


def run_json(tmp_path, *args, timeout=300):
    """spawnlab run ARGS --format json --out TMP; returns (proc, result)."""
    out = tmp_path / "out"
    p = run(["run", "--format", "json", "--out", str(out), *args], timeout=timeout)
    doc = json.loads((out / "result.json").read_text())
    assert json.loads(p.stdout) == doc, "stdout JSON and result.json differ"
    return p, validate(doc)


def units(doc):
    """{(case id, backend): unit} over a result."""
    return {(c["id"], u["backend"]): u for c in doc["cases"] for u in c["backends"]}


def backends():
    """{name: (available, why)} as `spawnlab backends` says, in its order:
    the tests take the backend list from the driver, never from a list of
    their own."""
    p = run(["backends"])
    assert p.returncode == 0, p.stderr
    rows = {}
    for line in p.stdout.splitlines():
        name, state, why = (line.split(None, 2) + [""])[:3]
        rows[name] = (state == "available", why.strip())
    return rows


def available_backends():
    return [b for b, (ok, _) in backends().items() if ok]


def features():
    """{name: "yes" | "no" | "unknown"} as `spawnlab features` probes them now."""
    p = run(["features"])
    assert p.returncode == 0, p.stderr
    return {line.split()[0]: line.split()[1] for line in p.stdout.splitlines()}


def finding_units(doc):
    """Every unit of a case that carries findings, with the judged findings:
    [(case, unit)] where the unit's "findings" say what the machine did."""
    return [(c, u) for c in doc["cases"] if c["findings"] for u in c["backends"] if u["findings"]]


def our_processes():
    """Processes running our probe, driver or pidfd child (by /proc/PID/exe)."""
    mine = {str(SPAWNLAB.resolve()), str(PROBE.resolve()), str((BUILD / "pidfd-child").resolve())}
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
        except OSError:
            continue
        if exe in mine:
            found.append((int(d), exe))
    return found


@pytest.fixture
def cases_dir(tmp_path):
    """A private case folder with one family, for tests that write cases."""
    d = tmp_path / "cases" / "t"
    d.mkdir(parents=True)
    return d
