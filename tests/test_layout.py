"""The house keeps one direction of dependency (README.md, "Layout"):
cli -> {families, out} -> core -> backends -> probe's key list -> {lib,
pdspawn} -> sys.  A folder includes only from folders below it (or from
itself); families and out do not include each other."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANK = {"sys": 0, "lib": 1, "pdspawn": 1, "probe": 2, "backends": 3, "core": 4,
        "families": 5, "out": 5, "cli": 6}


def test_folders_are_the_layers():
    folders = {p.name for p in (ROOT / "harness").iterdir() if p.is_dir()}
    assert folders == set(RANK), f"a folder without a layer, or a layer without a folder: {folders ^ set(RANK)}"
    assert not list((ROOT / "harness").glob("*.[ch]")), "a file outside the layers"


def upward(here, text):
    """The includes in TEXT, a file of folder HERE, that run upward."""
    return [inc for inc in re.findall(r'#include "([^"/]+)/', text)
            if inc in RANK and inc != here and RANK[inc] >= RANK[here]]


def test_no_include_runs_upward():
    found = []
    for f in sorted((ROOT / "harness").rglob("*.[ch]")):
        for inc in upward(f.relative_to(ROOT / "harness").parts[0], f.read_text()):
            found.append(f"{f.relative_to(ROOT)} includes {inc}/")
    assert not found, found


def test_the_check_can_fail():
    assert upward("backends", '#include "core/run.h"\n#include "lib/util.h"\n') == ["core"]
    assert upward("families", '#include "out/out.h"\n') == ["out"]
    assert upward("cli", '#include "core/run.h"\n#include "out/out.h"\n') == []
