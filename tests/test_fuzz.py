"""The fuzz targets' replay builds: every seed input and every committed
finding is run through the same LLVMFuzzerTestOneInput the engines use.
Seeds must give no finding; a committed finding must still reproduce (or
its kernel was fixed: then the finding file should go)."""
import glob
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ['clone_flags', 'fd_combo', 'case_parse']


@pytest.fixture(scope='module')
def replay(tmp_path_factory):
    out = tmp_path_factory.mktemp('fuzz')
    env = dict(os.environ, OUT=str(out), CC='gcc', CFLAGS='-O1 -g',
               LIB_FUZZING_ENGINE='fuzz/replay_main.c', SUFFIX='-replay')
    r = subprocess.run([os.path.join(ROOT, 'fuzz/build.sh')], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def run(replay, target, paths, tmp_path):
    build = os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build'))
    env = dict(os.environ, SPAWNLAB_PROBE=os.path.join(build, 'probe'),
               SPAWNLAB_FINDINGS=str(tmp_path))
    return subprocess.run([str(replay / (target + '-replay'))] + paths, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('target', TARGETS)
def test_seed_corpus_replays_clean(replay, target, tmp_path):
    seeds = replay / 'seeds' / target
    assert any(seeds.iterdir()), 'no seeds for ' + target
    if target == 'fd_combo' and not os.path.exists(
            os.path.join(os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build')), 'probe')):
        pytest.skip('fd_combo needs the probe: run make first')
    r = run(replay, target, [str(seeds)], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert 'replayed' in r.stdout and ' 0 findings' in r.stdout


@pytest.mark.parametrize('target', TARGETS)
def test_committed_findings_reproduce(replay, target, tmp_path):
    found = sorted(glob.glob(os.path.join(ROOT, 'reports/findings', target + '-*.bin')))
    if not found:
        pytest.skip('no committed finding for ' + target)
    r = run(replay, target, found, tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr[-3000:]



def test_bare_loop_reports_a_rate(tmp_path):
    """fuzz/bare_loop.c, the reference rate `make fuzz` prints: it must
    really clone, exit and reap (a count above zero, a finite rate)."""
    exe = tmp_path / 'bare_loop'
    subprocess.run(['gcc', '-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', str(exe),
                    os.path.join(ROOT, 'fuzz/bare_loop.c')], check=True, timeout=120)
    r = subprocess.run([str(exe), '0.2'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.match(r'bare clone3\+exit\+waitid: (\d+)/s \((\d+) in ([0-9.]+) s\)', r.stdout)
    assert m, r.stdout
    assert int(m.group(2)) > 0 and int(m.group(1)) > 0


def test_committed_case_reproducers_still_fail(tmp_path):
    """A committed finding's .case holds the model's expectation, so it
    fails while the difference exists (a pass means: fixed, drop it)."""
    cases = os.path.join(ROOT, 'reports/findings/cases')
    build = os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build'))
    if not glob.glob(os.path.join(cases, '*', '*.case')):
        pytest.skip('no committed case reproducer')
    for fam in sorted(os.listdir(cases)):
        r = subprocess.run([os.path.join(build, 'spawnlab'), 'run', '--out', str(tmp_path / fam), '--cases', cases, fam],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode != 0 and ' 0 passed' in r.stdout, r.stdout[-3000:]
