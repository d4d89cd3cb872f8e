"""The benchmark machinery (issue: spawn cost): explicit cases, paired
floor samples, numbers recorded; speed itself is judged by `make bench`,
never asserted here."""
import json
import re

from conftest import run, validate, units, available_backends


def test_bench_cases_are_explicit():
    listed = run(["list", "bench"]).stdout.splitlines()
    assert listed and all("[explicit]" in l for l in listed)
    # A plain run (no pattern) does not select them.
    p = run(["run", "--format", "json", "--out", "/tmp/spawnlab-test-nobench", "exec/stdio_only"])
    assert all(not c["id"].startswith("bench/") for c in json.loads(p.stdout)["cases"])


def test_bench_records_paired_floor_and_ratio(tmp_path):
    out = tmp_path / "o"
    p = run(["bench", "bench/static_touched_1mib", "--out", str(out)], timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = validate(json.loads((out / "result.json").read_text()))
    assert "ratio to the vfork+execve floor" in p.stdout
    assert re.search(r"^static_touched_1mib\s+\d+", p.stdout, re.M), p.stdout
    for b in available_backends():
        n = units(doc)[("bench/static_touched_1mib", b)]["numbers"]
        assert n["samples"] >= 10 and n["failed"] == 0
        assert n["reaped_median_us"] > 0 and n["floor_reaped_median_us"] > 0
        # exec (first instruction of the child) comes before reaping
        assert 0 < n["exec_median_us"] <= n["reaped_max_us"]
        # The ratio is the median of per-sample ratios (each sample paired
        # with the floor next to it), inside its 95% interval, and no
        # further from 1 than the extremes of the two distributions allow.
        for k in ("ratio_reaped", "ratio_exec"):
            assert 0 < n[k + "_ci_lo"] <= n[k] <= n[k + "_ci_hi"], (b, n)
        assert n["reaped_min_us"] / n["floor_reaped_max_us"] <= n["ratio_reaped"] \
            <= n["reaped_max_us"] / n["floor_reaped_min_us"], (b, n)


def test_throughput_windows_paired_with_the_floor(tmp_path):
    """Throughput is measured in windows alternating with the floor's, so a
    ratio and a CPU cost per spawn come with the rate."""
    out = tmp_path / "o"
    p = run(["bench", "bench/throughput_2threads", "--backend", "pdspawn", "--out", str(out)], timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    n = units(validate(json.loads((out / "result.json").read_text())))[("bench/throughput_2threads", "pdspawn")][
        "numbers"]
    assert n["threads"] == 2 and n["windows"] >= 10 and n["spawns"] >= 100, n
    assert n["throughput_per_s"] > 0 and n["floor_throughput_per_s"] > 0, n
    assert n["cpu_us_per_spawn"] > 0 and n["floor_cpu_us_per_spawn"] > 0, n
    for k in ("ratio_throughput", "ratio_cpu"):
        assert 0 < n[k + "_ci_lo"] <= n[k] <= n[k + "_ci_hi"], (k, n)
    assert re.search(r"^throughput_2threads\s+spawns/s\s+\d+ \(x[\d.]+\)", p.stdout, re.M), p.stdout
