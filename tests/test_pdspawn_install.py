"""pdspawn as a library one can install (issue 21, item 2): `make install`
into a staging folder puts the header, libpdspawn.a, the versioned
libpdspawn.so, pdspawn.pc and pdspawn(3) where PREFIX says; the program of
the man page's EXAMPLES section builds through pkg-config, shared and
static, and runs; only the pdspawn* symbols are exported, and the archive
does not clash with a program that has functions named like its
internal ones; the man page renders without a warning."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

PREFIX = "/opt/pdspawn"
API = {"pdspawn", "pdspawn_wait", "pdspawn_kill", "pdspawn_pid", "pdspawn_uses_clone3"}
MAN = ROOT / "harness" / "pdspawn" / "pdspawn.3"


def need(*debs_and_tools):
    """Install the Debian packages (as root) or skip, naming them."""
    debs = [d for d, _ in debs_and_tools]
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), *debs], capture_output=True)
    for deb, tool in debs_and_tools:
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing and could not be installed (scripts/ensure-debs {deb})")


@pytest.fixture(scope="module")
def libbuild(tmp_path_factory):
    """A build folder of its own: the library as `make install` makes it
    from a clean tree, whatever flags $SPAWNLAB_BUILD was made with (a
    sanitizer build's objects cannot make a shared library for others)."""
    return tmp_path_factory.mktemp("libbuild")


@pytest.fixture(scope="module")
def staged(tmp_path_factory, libbuild):
    need(("pkg-config", "pkg-config"), ("binutils", "nm"))
    dest = tmp_path_factory.mktemp("stage")
    p = subprocess.run(["make", "-C", str(ROOT), f"BUILD={libbuild}", "install", f"PREFIX={PREFIX}",
                        f"DESTDIR={dest}"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest, dest / PREFIX.lstrip("/")


def example_source():
    """The program under EXAMPLES in pdspawn(3), unescaped from groff."""
    text = MAN.read_text()
    m = re.search(r'^\.\\" SRC BEGIN \(example\.c\)\n\.EX\n(.*?)\n\.EE\n\.\\" SRC END$', text, re.S | re.M)
    assert m, "pdspawn.3 has no example between SRC BEGIN and SRC END"
    src = m.group(1)
    for esc, ch in ((r"\(aq", "'"), (r"\-", "-"), (r"\&", ""), (r"\e", "\\")):
        src = src.replace(esc, ch)
    assert "\\f" not in src and "\\(" not in src, "an escape the test does not know"
    return src + "\n"


def test_install_layout(staged):
    dest, prefix = staged
    lib = prefix / "lib"
    for f in ("include/pdspawn.h", "lib/libpdspawn.a", "lib/libpdspawn.so.1.0.0", "lib/pkgconfig/pdspawn.pc",
              "share/man/man3/pdspawn.3"):
        assert (prefix / f).is_file(), f
    assert os.readlink(lib / "libpdspawn.so.1") == "libpdspawn.so.1.0.0"
    assert os.readlink(lib / "libpdspawn.so") == "libpdspawn.so.1"
    # The header is the one of the source tree, standing alone.
    assert (prefix / "include/pdspawn.h").read_text() == (ROOT / "harness/pdspawn/pdspawn.h").read_text()
    assert '#include "' not in (prefix / "include/pdspawn.h").read_text()
    # A page per function, each pointing to pdspawn(3).
    for f in API - {"pdspawn"}:
        assert (prefix / f"share/man/man3/{f}.3").read_text() == ".so man3/pdspawn.3\n"
    # pdspawn.pc names PREFIX, not the staging folder, and the version the
    # man page has.
    pc = (lib / "pkgconfig/pdspawn.pc").read_text()
    assert f"prefix={PREFIX}\n" in pc and f"libdir={PREFIX}/lib\n" in pc and str(dest) not in pc
    version = re.search(r"^Version: (\S+)$", pc, re.M).group(1)
    assert re.search(rf'^\.TH PDSPAWN 3 \S+ "pdspawn {re.escape(version)}"', MAN.read_text(), re.M), version
    assert (lib / f"libpdspawn.so.{version}").is_file()
    dyn = subprocess.run(["readelf", "-d", str(lib / "libpdspawn.so.1.0.0")], capture_output=True, text=True)
    assert re.search(r"SONAME.*\[libpdspawn\.so\.1\]", dyn.stdout), dyn.stdout


def defined_globals(args):
    out = subprocess.run(["nm", *args], capture_output=True, text=True, check=True).stdout
    return {l.split()[-1] for l in out.splitlines() if re.match(r"^[0-9a-f]+ [A-Z] ", l)}


def test_only_pdspawn_symbols_exported(staged):
    _, prefix = staged
    lib = prefix / "lib"
    so = defined_globals(["-D", "--defined-only", str(lib / "libpdspawn.so.1.0.0")])
    assert {s.split("@")[0] for s in so} == API | {"PDSPAWN_1"}, so
    ar = defined_globals(["--defined-only", str(lib / "libpdspawn.a")])
    assert ar == API, ar


def internal_names(libbuild):
    """The global names the library's objects have before they are made
    local in the archive (the raw system-call layer's, mostly)."""
    objs = [str(p) for p in (libbuild / "lib").rglob("*.o") if p.name != "pdspawn-all.o"]
    assert objs, f"no library objects under {libbuild / 'lib'}"
    names = defined_globals(["--defined-only", *objs]) - API
    assert "sl_close_range" in names and "rawsig_set" in names, names
    return sorted(names)


def pkg_config(staged, *args):
    dest, prefix = staged
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=str(dest))
    p = subprocess.run(["pkg-config", *args, "pdspawn"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def run_example(binary, prefix):
    env = dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib"))
    p = subprocess.run([str(binary)], capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^child \d+ wrote: hello from pdspawn$", p.stdout, re.M), p.stdout
    assert "child exited with status 0" in p.stdout


def test_example_builds_shared_through_pkg_config(staged, tmp_path):
    _, prefix = staged
    (tmp_path / "example.c").write_text(example_source())
    cc = ["cc", "-Wall", "-Wextra", "-Werror", str(tmp_path / "example.c"), "-o", str(tmp_path / "example")]
    p = subprocess.run(cc + pkg_config(staged, "--cflags", "--libs"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    needed = subprocess.run(["readelf", "-d", str(tmp_path / "example")], capture_output=True, text=True).stdout
    assert "[libpdspawn.so.1]" in needed, needed
    run_example(tmp_path / "example", prefix)


def test_example_links_static_beside_clashing_names(staged, libbuild, tmp_path):
    """libpdspawn.a's internal functions are local: a program with its own
    functions of the same names links, and each side calls its own."""
    _, prefix = staged
    (tmp_path / "example.c").write_text(example_source())
    names = internal_names(libbuild)
    (tmp_path / "mine.c").write_text(
        "".join(f"int {n}(void);\nint {n}(void) {{ return 42; }}\n" for n in names)
        + "int mine_called(void);\nint mine_called(void) { return " + f"{names[0]}(); }}\n")
    cc = ["cc", "-Wall", "-Wextra", "-static", str(tmp_path / "example.c"), str(tmp_path / "mine.c"),
          "-o", str(tmp_path / "example-static")]
    p = subprocess.run(cc + pkg_config(staged, "--static", "--cflags", "--libs"), capture_output=True, text=True)
    if p.returncode != 0 and "cannot find -lc" in p.stderr:
        pytest.skip("no static libc here (libc6-dev's libc.a)")
    assert p.returncode == 0, p.stderr
    run_example(tmp_path / "example-static", prefix)


def groff_warnings(page):
    p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z", str(page)], capture_output=True, text=True)
    return p.returncode, p.stderr


def test_man_page_renders_cleanly(staged):
    need(("groff-base", "groff"), ("man-db", "man"))
    _, prefix = staged
    rc, err = groff_warnings(MAN)
    assert rc == 0 and err == "", err
    mandir = prefix / "share/man"
    for page in ["pdspawn"] + sorted(API - {"pdspawn"}):
        p = subprocess.run(["man", "--warnings", "-M", str(mandir), "3", page], capture_output=True, text=True,
                           env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
        assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
        assert "pdspawn_wait" in p.stdout and "PIDFD_INFO_EXIT" in p.stdout, page


def test_man_page_covers_every_function_and_error():
    """Every function and errno the header and the source return is in the
    manual."""
    text = MAN.read_text()
    header = (ROOT / "harness/pdspawn/pdspawn.h").read_text()
    for fn in re.findall(r"^\w[\w ]*?\**\b(pdspawn\w*)\(", header, re.M):
        assert f".BR {fn} ()" in text or f".BI \"int {fn}(" in text, fn
    src = (ROOT / "harness/pdspawn/pdspawn.c").read_text()
    for err in set(re.findall(r"\breturn (E[A-Z0-9]+);", src)) | {"ETIMEDOUT", "ECHILD", "ESRCH", "EMFILE"}:
        assert re.search(rf"^\.B {err}$|\.BR {err}\b|^\.B {err}\b", text, re.M), err
    for version in ("5.4", "5.5", "5.9", "5.11", "6.13", "6.15"):
        assert version in text, version


def test_header_serves_cplusplus(staged, tmp_path):
    """pdspawn.h declares C linkage for C++ callers."""
    cxx = shutil.which("c++") or shutil.which("clang++")
    if not cxx:
        pytest.skip("no C++ compiler (c++ or clang++)")
    _, prefix = staged
    src = tmp_path / "t.cc"
    src.write_text('#include <pdspawn.h>\nint main() {\n    int fd;\n    char *argv[] = {(char *)"true", nullptr};\n'
                   '    if (pdspawn(&fd, "/bin/true", argv, nullptr, nullptr)) return 1;\n'
                   '    siginfo_t si;\n    return pdspawn_wait(fd, 5000, &si) || si.si_status;\n}\n')
    cc = [cxx, "-Wall", "-Werror", str(src), "-o", str(tmp_path / "t")]
    p = subprocess.run(cc + pkg_config(staged, "--cflags", "--libs"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    r = subprocess.run([str(tmp_path / "t")], env=dict(os.environ, LD_LIBRARY_PATH=str(prefix / "lib")), timeout=30)
    assert r.returncode == 0
