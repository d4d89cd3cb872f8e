"""The waiter (harness/probe/waiter.c): the child of the cases where only
its exit matters (sigchld's exec'd children, eintr's SIGCHLD source).  It
does what its usage says, and where the Makefile builds it without libc
(x86-64, arm64) it has none: no interpreter, no libc start-up."""
import os
import platform
import struct
import subprocess
import time

from conftest import PRIVATE_BUILD

WAITER = PRIVATE_BUILD / "waiter"


def waiter(*args, **kw):
    return subprocess.run([str(WAITER), *args], capture_output=True, timeout=10, **kw)


def test_wait_eof_exits_at_eof():
    p = subprocess.Popen([str(WAITER), "--wait-eof"], stdin=subprocess.PIPE)
    time.sleep(0.05)
    assert p.poll() is None, "it exited before its stdin reached EOF"
    p.stdin.write(b"anything\n" * 100)
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_wait_fd_writes_its_stamp_at_the_offset(tmp_path):
    stamps = tmp_path / "stamps"
    stamps.write_bytes(b"\0" * 32)
    r, w = os.pipe()
    fd = os.open(stamps, os.O_RDWR)
    try:
        p = subprocess.Popen([str(WAITER), "--wait-fd", str(r), str(fd), "16"], pass_fds=(r, fd))
        os.close(r)
        time.sleep(0.05)
        assert p.poll() is None, "it exited before the barrier opened"
        before = time.monotonic_ns()
        os.close(w)
        assert p.wait(timeout=10) == 0
        after = time.monotonic_ns()
    finally:
        os.close(fd)
    data = stamps.read_bytes()
    assert data[:16] == b"\0" * 16 and data[24:] == b"\0" * 8, data
    (ns,) = struct.unpack("=Q", data[16:24])
    assert before <= ns <= after, (before, ns, after)


def test_failures_and_bad_usage(tmp_path):
    assert waiter().returncode == 2
    assert waiter("--wait-fd", "0", "1").returncode == 2
    assert waiter("--wait-fd", "0", "x", "0", stdin=subprocess.DEVNULL).returncode == 2
    assert waiter("--bogus").returncode == 2
    # The stamp cannot be written (fd 9 is not open): exit 1.
    assert waiter("--wait-fd", "0", "9", "0", stdin=subprocess.DEVNULL).returncode == 1


def test_no_libc_where_the_makefile_says():
    head = WAITER.read_bytes()
    assert head[:4] == b"\x7fELF"
    readelf = subprocess.run(["readelf", "-lsW", str(WAITER)], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in readelf, "the waiter needs no loader"
    if platform.machine() in ("x86_64", "aarch64"):
        for libc_symbol in ("__libc_start_main", "__libc_start_call_main", "exit"):
            assert f" {libc_symbol}\n" not in readelf, libc_symbol
        assert " waiter_start\n" in readelf
