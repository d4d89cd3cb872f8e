"""The fuzz targets, driven for real: their replay builds (the same
LLVMFuzzerTestOneInput the engines run, with the executor and observer
they drive), the committed regression inputs and what they guard, the
planted-bug machinery, and fuzz/build.sh in the environment OSS-Fuzz and
ClusterFuzzLite give it."""
import glob
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'fuzz'))
import bench  # noqa: E402  (fuzz/bench.py: the build variants)
BUILD = os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build'))
TARGETS = ['clone_flags', 'fd_combo', 'case_parse']
REGRESS = sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'corpus', '*', 'regress-*')))
PLANTS = sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'plants', '*.patch')))


def fdmake_calls():
    src = open(os.path.join(ROOT, 'harness', 'families', 'fd', 'step_fdmake.c')).read()
    body = src[src.index('#define FDCALLS(X)'):]
    return re.findall(r'X\((\w+),', body[:body.index('\n\n')])


@pytest.fixture(scope='module')
def replay(tmp_path_factory):
    out = tmp_path_factory.mktemp('fuzz')
    # fuzz/bench.py's replay variant itself (WORK included), so that the
    # planted builds of test_regression_inputs_reproduce_their_plants start
    # from it; static, as fuzz/kernel-replay boots it in a guest.  (The
    # backends' spawns are the static executor's in either build.)
    env = dict(os.environ, OUT=str(out), WORK=str(out / 'obj-replay'), **bench.variants('gcc')['replay'])
    r = subprocess.run([os.path.join(ROOT, 'fuzz/build.sh')], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def run(replay, target, paths, tmp_path, outcomes=False):
    env = dict(os.environ, SPAWNLAB_FINDINGS=str(tmp_path))
    if outcomes:
        env['SPAWNLAB_FUZZ_OUTCOMES'] = '1'
    return subprocess.run([str(replay / (target + '-replay'))] + paths, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('target', TARGETS)
def test_seed_corpus_replays_clean(replay, target, tmp_path):
    """Generated seeds and committed regression inputs: no finding."""
    seeds = replay / 'seeds' / target
    n = len(os.listdir(seeds))
    assert n > 0, 'no seeds for ' + target
    r = run(replay, target, [str(seeds)], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert f'replayed {n} inputs, 0 findings' in r.stdout


def outcomes(stdout):
    res, cur = {}, None
    for line in stdout.splitlines():
        if line.startswith('INPUT '):
            cur = os.path.basename(line.split(None, 1)[1])
            res[cur] = []
        elif line.startswith('OUTCOME ') and cur:
            res[cur].append(line[8:])
    return res


def test_clone_flags_executor_makes_the_calls(replay, tmp_path):
    """Positive control: the executor really clones (a plain fork succeeds
    through both calls, an unknown flag bit is EINVAL), so a clean replay
    cannot come from an executor that never ran."""
    r = run(replay, 'clone_flags', [str(replay / 'seeds' / 'clone_flags')], tmp_path, outcomes=True)
    o = outcomes(r.stdout)
    assert o['fork'][0].startswith('clone3=0 clone=0 (flags=0 '), r.stdout + r.stderr
    assert o['unknown_bit'][0].startswith('clone3=EINVAL clone=- (flags=0x10000000000 '), o['unknown_bit']
    assert o['sighand_no_vm'][0].startswith('clone3=EINVAL clone=EINVAL (flags=0x800 '), o['sighand_no_vm']
    assert len(o) == len(os.listdir(replay / 'seeds' / 'clone_flags'))


def test_fd_combo_draws_every_fdmake_call(replay, tmp_path):
    """One vocabulary: the dictionary names every row of the fdmake table,
    and the seeds that make each call once spawn a child that sees the
    inheritable ones and none of the close-on-exec ones."""
    calls = fdmake_calls()
    assert len(calls) >= 42
    dic = open(replay / 'fd_combo.dict').read()
    for c in calls:
        assert f'make_{c}_0=' in dic and f'make_{c}_1=' in dic, c
    r = run(replay, 'fd_combo', [str(replay / 'seeds' / 'fd_combo')], tmp_path, outcomes=True)
    o = outcomes(r.stdout)
    made = 0
    for name, lines in o.items():
        if not name.startswith('calls_'):
            continue
        (line,) = lines
        f = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
        n_ops = len(f['ops'].split(','))
        made += n_ops + (0 if f['unsupported'] == 'none' else len(f['unsupported'].split(',')))
        if f['spawn'] == 'ok' and name.endswith('cloexec1'):
            assert f['fds'] in ('0,1,2', 'none'), (name, line)
        if f['spawn'] == 'ok' and name.endswith('cloexec0') and 'pdspawn' not in f['backend']:
            assert len(f['fds'].split(',')) > 3, (name, line)
    assert made == 2 * len(calls), (made, o)


def test_known_findings_still_reproduce(replay, tmp_path):
    """fuzz/known-findings lists real differences the fuzzers find (kept
    apart so that smoke runs do not fail on them); each has an input in
    fuzz/known/TARGET/ that must still give exactly such findings, or the
    entry is stale and should go (like an xpass)."""
    known = {line.split()[0] for line in open(os.path.join(ROOT, 'fuzz', 'known-findings'))
             if line.strip() and not line.startswith('#')}
    seen = set()
    for path in sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'known', '*', '*'))):
        target = os.path.basename(os.path.dirname(path))
        r = run(replay, target, [path], tmp_path)
        kinds = set(re.findall(r'^FINDING (\S+):', r.stderr, re.M))
        assert r.returncode == 3 and kinds and kinds <= known, (path, r.returncode, kinds, r.stderr[-2000:])
        seen |= kinds
    assert seen == known, sorted(known - seen)


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


# ---- planted bugs and the regression inputs they left ----

def test_plants_are_well_formed():
    """At least 8 plants, each with a marker the normal-build check looks for."""
    assert len(PLANTS) >= 8
    for p in PLANTS:
        text = open(p).read()
        head = dict(line.split(':', 1) for line in text.split('\n--- ', 1)[0].splitlines() if ':' in line)
        assert {'Plant', 'Target', 'Finding', 'Bug'} <= set(head), p
        num = head['Plant'].split()[0]
        assert os.path.basename(p).startswith(num + '-'), p
        assert f'+const char sl_planted_{num}[]' in text and f'"SL_PLANTED {num} ' in text, p
        re.compile(head['Finding'].strip())
        # it still applies to this tree (a refactor of the planted file must carry the plants along)
        r = subprocess.run(['patch', '-p1', '--dry-run', '-s', '-f', '-i', p], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f'{os.path.basename(p)} no longer applies: {r.stdout}{r.stderr}'


def test_no_plant_in_normal_builds(replay):
    """Nothing planted is compiled into the normal build: no SL_PLANTED
    string in the fuzz binaries, the executor, or the driver."""
    exes = [replay / (t + '-replay') for t in TARGETS] + [replay / 'spawnlab-executor']
    exes += [os.path.join(BUILD, p) for p in ('spawnlab', 'probe') if os.path.exists(os.path.join(BUILD, p))]
    for exe in exes:
        assert b'SL_PLANTED' not in open(exe, 'rb').read(), exe
    for src in glob.glob(os.path.join(ROOT, 'harness', '**', '*.[ch]'), recursive=True) + glob.glob(os.path.join(ROOT, 'fuzz', '*.[ch]')):
        assert 'SL_PLANTED' not in open(src).read(), src


def test_regression_inputs_are_committed():
    """Every plant's finding became a committed regression input."""
    ids = {os.path.basename(p)[:2] for p in PLANTS}
    found = {os.path.basename(r).split('-')[1] for r in REGRESS if re.match(r'regress-\d\d-', os.path.basename(r))}
    assert ids <= found, sorted(ids - found)


def test_regression_inputs_reproduce_their_plants(replay, tmp_path):
    """Each regress-NN-* input gives plant NN's finding in a build with that
    plant, none in the normal build; planted builds carry the marker; each
    reproducer case fails with the plant and passes without it
    (fuzz/bench.py regress, planting into this module's replay build)."""
    r = subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'fuzz', 'bench.py'), 'regress',
                        '--out', str(tmp_path), '--cc', 'gcc', '--base', str(replay)],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    n = len([x for x in REGRESS if re.match(r'regress-\d\d-', os.path.basename(x))])
    n += len(glob.glob(os.path.join(ROOT, 'fuzz', 'regress-cases', '*', '*.case')))
    assert r.stdout.count('\nok ') + r.stdout.startswith('ok ') == n, r.stdout


def test_regression_cases_pass(tmp_path):
    """The reproducer cases written from plant findings expect what the
    model expects: the normal build passes them, each with a positive
    control (the fds it must see)."""
    fams = sorted(d for d in os.listdir(os.path.join(ROOT, 'fuzz', 'regress-cases')))
    assert fams
    for fam in fams:
        r = subprocess.run([os.path.join(BUILD, 'spawnlab'), 'run', '--probe', os.path.join(BUILD, 'probe'),
                            '--out', str(tmp_path / fam), '--cases', os.path.join(ROOT, 'fuzz', 'regress-cases'), fam],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0 and ' 0 failed' in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
        assert re.search(r'(\d+) passed', r.stdout) and int(re.search(r'(\d+) passed', r.stdout).group(1)) > 0


# ---- OSS-Fuzz and ClusterFuzzLite ----

OSS_FUZZ_ASAN = ('-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION '
                 '-fsanitize=address -fsanitize-address-use-after-scope')
OSS_ENGINES = {
    'libfuzzer': dict(CC='clang', CXX='clang++', CFLAGS=OSS_FUZZ_ASAN + ' -fsanitize=fuzzer-no-link',
                      LIB_FUZZING_ENGINE='-fsanitize=fuzzer', FUZZING_ENGINE='libfuzzer', SANITIZER='address'),
    'afl': dict(CC='afl-clang-fast', CXX='afl-clang-fast++', CFLAGS='-O1 -fno-omit-frame-pointer -gline-tables-only',
                LIB_FUZZING_ENGINE='/usr/lib/afl/libAFLDriver.a', FUZZING_ENGINE='afl', SANITIZER='none',
                AFL_QUIET='1'),
}


@pytest.mark.parametrize('engine', sorted(OSS_ENGINES))
def test_build_sh_in_the_oss_fuzz_environment(engine, tmp_path):
    """fuzz/build.sh as OSS-Fuzz and ClusterFuzzLite run it (fuzz/Dockerfile):
    the tree at $SRC/spawnlab, the script at $SRC/build.sh, their
    CC/CXX/CFLAGS/LIB_FUZZING_ENGINE/WORK/OUT; it must leave each target,
    NAME_seed_corpus.zip and NAME.dict in $OUT, and each target must run
    its seeds."""
    e = OSS_ENGINES[engine]
    if not shutil.which(e['CC']):
        pytest.skip(f'{e["CC"]} not installed (make fuzz installs clang and afl++)')
    if engine == 'afl' and not os.path.exists(e['LIB_FUZZING_ENGINE']):
        pytest.skip('AFL++ driver library missing (Debian afl++ ships /usr/lib/afl/libAFLDriver.a)')
    src, work, out = tmp_path / 'src', tmp_path / 'work', tmp_path / 'out'
    for d in ('harness', 'fuzz', 'cases'):
        shutil.copytree(os.path.join(ROOT, d), src / 'spawnlab' / d)
    for f in ('VERSION', 'Makefile'):  # OSS-Fuzz clones the whole repository
        shutil.copy(os.path.join(ROOT, f), src / 'spawnlab')
    shutil.copy(os.path.join(ROOT, 'fuzz', 'build.sh'), src / 'build.sh')
    work.mkdir()
    out.mkdir()
    env = dict(os.environ, SRC=str(src), WORK=str(work), OUT=str(out), ARCHITECTURE='x86_64',
               CXXFLAGS=e['CFLAGS'], **e)
    r = subprocess.run(['bash', '-eu', str(src / 'build.sh')], cwd=src / 'spawnlab', env=env,
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for t in TARGETS:
        exe = out / t
        assert os.access(exe, os.X_OK), t
        assert b'LLVMFuzzerTestOneInput' in open(exe, 'rb').read()
        with zipfile.ZipFile(out / f'{t}_seed_corpus.zip') as z:
            names = z.namelist()
            assert names and z.testzip() is None, t
            z.extractall(tmp_path / f'seeds-{t}')
        lines = [x for x in open(out / f'{t}.dict').read().splitlines() if x.strip() and not x.startswith('#')]
        assert lines and all(re.fullmatch(r'(\w+=)?"([^"\\]|\\.)*"', x) for x in lines), t
        seeds = sorted(glob.glob(str(tmp_path / f'seeds-{t}' / '*')))[:20]
        if engine == 'libfuzzer':
            cmd = [str(exe), f'-dict={out / (t + ".dict")}', '-runs=0', str(tmp_path / f'seeds-{t}')]
        else:
            cmd = [str(exe)] + seeds
        rr = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,  # crash-* files
                            env=dict(os.environ, SPAWNLAB_FINDINGS=str(tmp_path / 'findings')))
        assert rr.returncode == 0, (t, rr.stdout[-2000:], rr.stderr[-3000:])
    for p in ('spawnlab-executor', 'spawnlab-observer'):
        assert os.access(out / p, os.X_OK), p
        assert b'LLVMFuzzerTestOneInput' not in open(out / p, 'rb').read(), p
    for t in ('clone_flags', 'fd_combo'):
        assert 'detect_leaks = 0' in open(out / f'{t}.options').read()


# ---- replay across kernels ----

def kver(release):
    m = re.match(r'(\d+)\.(\d+)', release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def test_kernel_replay_host_and_debian_kernel(replay, tmp_path):
    """fuzz/kernel-replay on this machine's kernel and on Debian's packaged
    kernel in a VM: every input runs on both, and an input whose outcome
    differs is reported with both kernels.  Positive control where the
    versions allow: CLONE_PIDFD|CLONE_THREAD (seed thread_pidfd) is EINVAL
    before 6.9 and a thread pidfd since, so it must be reported when one
    kernel is older than 6.9 and the other is not."""
    if os.geteuid() != 0:
        pytest.skip('needs root (pid and mount namespaces)')
    if not shutil.which('qemu-system-x86_64') or not os.path.exists('/bin/busybox'):
        pytest.skip('qemu-system-x86 and busybox-static not installed (make fuzz-kernels installs them)')
    k = subprocess.run([os.path.join(ROOT, 'scripts', 'debian-kernel'), 'bookworm'],
                       capture_output=True, text=True, timeout=600)
    if k.returncode != 0:
        pytest.skip('Debian kernel package not available: ' + k.stderr.strip()[-300:])
    image = k.stdout.strip().splitlines()[-1]
    r = subprocess.run(['/usr/bin/python3', os.path.join(ROOT, 'fuzz', 'kernel-replay'), '--out', str(tmp_path),
                        '--bindir', str(replay), '--timeout', '900', image], capture_output=True, text=True,
                       timeout=2400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    import json
    doc = json.load(open(tmp_path / 'differences.json'))
    kernels = doc['kernels']
    assert [x['name'] for x in kernels] == ['host', os.path.basename(image)], kernels
    n = {t: len(os.listdir(tmp_path / 'inputs' / t)) for t in ('clone_flags', 'fd_combo')}
    for x in kernels:
        assert x['inputs'] == n, (x, n)
    for d in doc['differences']:
        assert len({v.split(' (')[0] for v in d['outcomes'].values()}) > 1 and len(d['outcomes']) == 2, d
    old = [kver(x['release']) < (6, 9) for x in kernels]
    diffs = {d['input'] for d in doc['differences']}
    assert ('clone_flags/seed-thread_pidfd' in diffs) == (old[0] != old[1]), (old, sorted(diffs)[:20])
    assert 'kernel difference' in open(tmp_path / 'report.md').read() or not diffs
