"""The fuzz targets' replay builds: every seed input and every committed
finding is run through the same LLVMFuzzerTestOneInput the engines use.
Seeds must give no finding; a committed finding must still reproduce (or
its kernel was fixed: then the finding file should go)."""
import glob
import os
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

