"""Loading a result: schema validation, and looking values up in a unit."""
import fnmatch
import json
import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "reports" / "result.schema.json"
# xfail: a case's known finding reproduced; xpass: it no longer does.
OUTCOMES = ("pass", "fail", "skip", "error", "xfail", "xpass")


class InputError(Exception):
    """A file that is not a valid spawnlab result (exit status 2)."""


def load(path):
    """Read and validate one result.json; raises InputError saying why."""
    import jsonschema  # Debian: python3-jsonschema
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON: {e}") from e
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    v = jsonschema.Draft7Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{path}: not a spawnlab result (schema {SCHEMA_PATH.name}): "
                         f"at {where}: {e.message}{more}")
    return doc


def backends(doc):
    """Backends in the run's order, then any other that a unit names."""
    order = list(doc["run"]["backends"])
    for c in doc["cases"]:
        for u in c["backends"]:
            if u["backend"] not in order:
                order.append(u["backend"])
    return order


def families(doc):
    """{family: [case, ...]} in result order."""
    out = {}
    for c in doc["cases"]:
        out.setdefault(c["family"], []).append(c)
    return out


def unit(case, backend):
    for u in case["backends"]:
        if u["backend"] == backend:
            return u
    return None


def applies(u):
    """False for a unit skipped only because the case names other backends
    (cases' `backends` line): it says nothing about this backend."""
    return not (u["outcome"] == "skip" and (u["reason"] or "").startswith("backend not in this case"))


def match_cases(doc, patterns):
    """Cases whose id matches any glob in PATTERNS (a string or a list), in the
    order of the patterns, then of the result."""
    if isinstance(patterns, str):
        patterns = [patterns]
    out = []
    for p in patterns:
        for c in doc["cases"]:
            if fnmatch.fnmatchcase(c["id"], p) and c not in out:
                out.append(c)
    return out


def lookup(u, key):
    """A unit's value for KEY: `num.X` from its numbers (a float), anything
    else from its observation (a string).  None when absent."""
    if key.startswith("num."):
        v = u["numbers"].get(key[4:])
        if v is not None:
            return v
    return u["observation"].get(key)


def as_number(v):
    if isinstance(v, (int, float)):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


# {key}, {key:fmt}, {a/b:fmt} (+ - * / between two keys): a tiny template
# language so that matrix.json can say what a cell shows without code.
_FIELD = re.compile(r"\{\s*([A-Za-z0-9_.]+)\s*(?:([-+*/])\s*([A-Za-z0-9_.]+)\s*)?(?::([^{}]*))?\}")


def template_keys(template):
    keys = []
    for m in _FIELD.finditer(template):
        keys += [k for k in (m.group(1), m.group(3)) if k]
    return keys


def fmt_number(v, spec=""):
    if spec:
        return format(v, spec)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def render(template, u):
    """Fill TEMPLATE from unit U; None when any key it names is absent (or an
    arithmetic operand is not a number): a cell is never invented."""
    missing = False

    def field(m):
        nonlocal missing
        a, op, b, spec = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        va = lookup(u, a)
        if va is None:
            missing = True
            return ""
        if not op:
            n = as_number(va) if spec else None
            if spec and n is None:
                missing = True
                return ""
            return fmt_number(n, spec) if spec else (fmt_number(va) if isinstance(va, (int, float)) else va)
        vb = lookup(u, b)
        na, nb = as_number(va), as_number(vb)
        if na is None or nb is None or (op == "/" and nb == 0):
            missing = True
            return ""
        v = {"+": na + nb, "-": na - nb, "*": na * nb, "/": na / nb if nb else math.nan}[op]
        return fmt_number(v, spec)

    out = _FIELD.sub(field, template)
    return None if missing else out


# Where a typed source points (case files: `source man:signal.7 ...`).
SOURCE_URLS = {
    "man": lambda r: "https://man7.org/linux/man-pages/man{1}/{0}.{1}.html".format(*r.rsplit(".", 1))
    if "." in r else None,
    "posix": lambda r: "https://pubs.opengroup.org/onlinepubs/9799919799/" +
    (r + ".html" if "/" in r else f"functions/{r}.html"),
    "linux": lambda r: "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/tree/" + r,
    "commit": lambda r: "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=" + r,
    "glibc": lambda r: "https://sourceware.org/git/?p=glibc.git;a=blob;f=" + r,
    "musl": lambda r: "https://git.musl-libc.org/cgit/musl/tree/" + r,
    "spawnlab": lambda r: None,
}


def source_ref(src):
    """'man:signal.7' for a typed source, None for free text."""
    return f'{src["type"]}:{src["ref"]}' if src.get("type") else None


def source_text(src):
    """A source as its case file wrote it."""
    ref = source_ref(src)
    return f'{ref} {src["text"]}'.strip() if ref else src["text"]


def source_url(src):
    f = SOURCE_URLS.get(src.get("type"))
    return f(src["ref"]) if f else None


def case_refs(case):
    """The typed sources of a case: what a change to it touches."""
    return [r for r in (source_ref(s) for s in case["sources"]) if r]
