"""The observation-key registry (`spawnlab keys`): what the loader checks
expectations against must cover what the machine really records.  If a
step, experiment or the probe starts recording a key its kind does not
declare, an expectation on that key would be refused; if a kind declares a
key nothing records, a misspelt expectation could load.  Both directions
are checked here against the default run."""
import re

from conftest import run


def expand(p):
    """Brace choices expanded: "a.{b,c#}" -> ["a.b", "a.c#"]."""
    i = p.find("{")
    if i < 0:
        return [p]
    j = p.index("}", i)
    return [x for alt in re.split(r"[,|]", p[i + 1:j]) for x in expand(p[:i] + alt + p[j + 1:])]


def pattern_regex(patterns):
    """A key pattern list as a regex: {a,b} or {a|b} a choice, # a number,
    * one key component (an independent reading of case_keys.c)."""
    out = ["".join("[0-9]+" if ch == "#" else "[^.\\s]+" if ch == "*" else re.escape(ch) for ch in p)
           for pat in patterns.split() for p in expand(pat)]
    return re.compile("^(?:" + "|".join(out) + ")$")


def registry(*patterns):
    p = run(["keys", *patterns])
    assert p.returncode == 0, p.stderr
    rows = dict(line.split("\t", 1) for line in p.stdout.splitlines())
    assert rows, "spawnlab keys listed no case"
    return rows


def test_pattern_reading():
    rx = pattern_regex("rlimit.{nofile|core}.{soft,hard} fd.# fd.#.{path,flags} sig.*.blocked num.{floor_,}x")
    for good in ("rlimit.core.soft", "fd.3", "fd.12.flags", "sig.SIGRTMIN+3.blocked", "num.x", "num.floor_x"):
        assert rx.match(good), good
    for bad in ("rlimit.cor.soft", "fd.x", "fd.3.cloexec", "sig..blocked", "num.floor_"):
        assert not rx.match(bad), bad


def test_every_observed_key_is_registered(default_run):
    """Every key any unit of the default run observed matches its case's
    registry: no kind records keys it does not declare."""
    rows = registry()
    unknown = {}
    for c in default_run.doc["cases"]:
        rx = pattern_regex(rows[c["id"]])
        for u in c["backends"]:
            for k in (u.get("observation") or {}):
                if not rx.match(k):
                    unknown.setdefault(k, c["id"])
    assert not unknown, f"{len(unknown)} observed keys not declared by their kinds, e.g. {sorted(unknown.items())[:10]}"


def test_registry_is_not_everything(default_run):
    """The registry is narrow enough to refuse: for a probe case and an
    experiment case, a key from the other side does not match."""
    rows = registry()
    probe_case = next(c["id"] for c in default_run.doc["cases"]
                      if any("probe.end" in (u.get("observation") or {}) for u in c["backends"]))
    exp_case = next(c["id"] for c in default_run.doc["cases"]
                    if any("experiment" in (u.get("observation") or {}) and "probe.end" not in u["observation"]
                           for u in c["backends"]))
    assert pattern_regex(rows[probe_case]).match("umask")
    assert not pattern_regex(rows[probe_case]).match("num.notifications")
    assert not pattern_regex(rows[exp_case]).match("umask")
