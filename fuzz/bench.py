#!/usr/bin/python3
"""Planted-bug benchmark of the fuzz targets (the way Magma measures fuzzers).

Each fuzz/plants/NN-SLUG.patch is a plausible real bug (its header says
which, where, and which finding kind exposes it).  A plant is applied to a
copy of the tree under the output folder, never to the tree itself, so no
normal build contains one (each patch adds the string "SL_PLANTED NN";
tests/test_fuzz.py checks that normal binaries lack it).  The copy is
built by fuzz/build.sh, incrementally from an unplanted build, so only the
patched file is compiled again.

  fuzz/bench.py run      each plant on each engine (libFuzzer, AFL++) for up
                         to --seconds per trial, --trials times, from
                         minimal seeds (one trivial input per backend: the
                         seeds that ship with the targets would find some
                         plants before any fuzzing); prints the time to the
                         first finding of the plant's kind per bug and
                         engine (median and range) and how many bugs each
                         engine found.  A control run of the unplanted build
                         (--control-seconds per engine) shows what it finds
                         on its own: none of the plants' kinds may appear.
  fuzz/bench.py adopt    the last run's findings become the regression inputs
                         (fuzz/corpus/TARGET/regress-NN-SLUG, minimized) and,
                         where the case language can say them, reproducer
                         cases (fuzz/regress-cases/fd/).
  fuzz/bench.py regress  the committed regression inputs
                         (fuzz/corpus/TARGET/regress-NN-*): each must give
                         its plant's finding in the planted replay build and
                         none in the unplanted one; and the reproducer cases
                         (fuzz/regress-cases/): the normal driver passes
                         them, the planted driver fails them.
Results: OUT/bench.json and OUT/bench.md; the first finding of each trial
in OUT/plant-NN/findings-ENGINE-TRIAL/.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINES = ('libfuzzer', 'afl')
AFL_ENV = dict(AFL_NO_UI='1', AFL_NO_AFFINITY='1', AFL_SKIP_CPUFREQ='1',
               AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES='1', AFL_QUIET='1')


def variants(cc):
    """fuzz/build.sh environments, as the Makefile's fuzz-build has them."""
    return {
        # static, so that fuzz/kernel-replay can boot the same build in a guest
        'replay': dict(CC=cc, CFLAGS='-O1 -g -static', LIB_FUZZING_ENGINE='fuzz/replay_main.c', SUFFIX='-replay'),
        'libfuzzer': dict(CC='clang', CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined '
                          '-fno-sanitize-recover=undefined', LIB_FUZZING_ENGINE='-fsanitize=fuzzer'),
        'afl': dict(CC='afl-clang-fast', CFLAGS='-O1 -g', LIB_FUZZING_ENGINE='fuzz/afl_main.c', SUFFIX='-afl',
                    AFL_QUIET='1'),
    }


class Plant:
    def __init__(self, path):
        self.path = path
        head = {}
        with open(path) as f:
            for line in f:
                if line.startswith('--- '):
                    break
                if ':' in line:
                    k, v = line.split(':', 1)
                    head[k.strip().lower()] = v.strip()
        for k in ('plant', 'target', 'finding', 'bug'):
            if k not in head:
                sys.exit(f'{path}:1: expected a "{k.capitalize()}:" header line')
        self.id, self.slug = head['plant'].split(None, 1)
        self.target = head['target']
        self.finding = re.compile(head['finding'])
        self.bug = head['bug']


def plants(selected=None):
    ps = [Plant(p) for p in sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'plants', '*.patch')))]
    return [p for p in ps if not selected or p.id in selected]


def run(cmd, env=None, cwd=None, quiet=True):
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.STDOUT if quiet else None, text=True)
    if r.returncode != 0:
        sys.exit(f'bench: {" ".join(cmd)} failed:\n{(r.stdout or "")[-4000:]}')
    return r.stdout


def build(tree, out, which, cc, targets):
    """fuzz/build.sh of TREE into OUT for the variants in WHICH."""
    for v in which:
        env = dict(os.environ, OUT=out, WORK=os.path.join(out, 'obj-' + v), FUZZ_BUILD_TARGETS=' '.join(targets))
        env.update(variants(cc)[v])
        if env['LIB_FUZZING_ENGINE'].endswith('.c'):
            env['LIB_FUZZING_ENGINE'] = os.path.join(tree, env['LIB_FUZZING_ENGINE'])
        run([os.path.join(tree, 'fuzz', 'build.sh')], env=env, cwd=tree)


def copy_tree(dst):
    """The sources build.sh reads, with their times (so objects stay fresh)."""
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for d in ('harness', 'fuzz', 'cases', 'scripts'):
        shutil.copytree(os.path.join(ROOT, d), os.path.join(dst, d), symlinks=True,
                        ignore=shutil.ignore_patterns('plants', 'corpus', '__pycache__'))
    for f in ('VERSION', 'Makefile', 'tests/debs.txt'):  # the Makefile reads tests/debs.txt
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def planted_build(plant, base_out, work, which, cc):
    """Copy of the tree with PLANT applied, built incrementally from BASE_OUT."""
    tree, out = os.path.join(work, 'src'), os.path.join(work, 'out')
    copy_tree(tree)
    run(['patch', '-p1', '-s', '-i', plant.path], cwd=tree)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base_out, out, symlinks=True, ignore=shutil.ignore_patterns('seeds', 'work', 'afl-*', 'findings*'))
    build(tree, out, which, cc, [plant.target])
    return out


def first_finding(findings, pattern):
    """Time (file mtime) and path of the first finding whose kind matches."""
    best = None
    for j in glob.glob(os.path.join(findings, '*.json')):
        try:
            with open(j) as f:
                kind = json.load(f)['kind']
        except (OSError, ValueError, KeyError):
            continue
        if pattern.search(kind):
            t = os.path.getmtime(j)
            if best is None or t < best[0]:
                best = (t, j, kind)
    return best


def fuzz_once(out, target, engine, seconds, seeds, findings, pattern, work):
    """Run ENGINE on TARGET until a finding matches PATTERN or SECONDS pass.
    Returns (seconds to the first match or None, kinds found)."""
    shutil.rmtree(findings, ignore_errors=True)
    os.makedirs(findings)
    corpus = os.path.join(work, 'corpus')
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    env = dict(os.environ, SPAWNLAB_FINDINGS=findings, **AFL_ENV)
    env.pop('SPAWNLAB_FUZZ_STATS', None)
    dic = os.path.join(out, target + '.dict')
    if engine == 'libfuzzer':
        opts = [] if target == 'case_parse' else ['-detect_leaks=0']
        cmd = [os.path.join(out, target)] + opts + [f'-max_total_time={seconds}', '-timeout=10', f'-dict={dic}',
                                                    corpus, seeds]
    else:
        cmd = ['afl-fuzz', '-V', str(seconds), '-i', seeds, '-o', corpus, '-x', dic, '--',
               os.path.join(out, target + '-afl')]
    if os.geteuid() == 0 and shutil.which('unshare'):
        cmd = ['unshare', '--pid', '--fork', '--kill-child'] + cmd
    # One CPU for the fuzzer and all it starts, as fuzz/run.sh does.
    cpu = os.environ.get('FUZZ_CPU', str(os.cpu_count() - 1))
    if cpu and shutil.which('taskset'):
        cmd = ['taskset', '-c', cpu] + cmd
    log = open(os.path.join(work, f'{engine}.log'), 'w')
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hit = None
    try:
        while time.time() - t0 < seconds + 30:
            hit = first_finding(findings, pattern)
            if hit or proc.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    hit = hit or first_finding(findings, pattern)
    kinds = sorted({json.load(open(j))['kind'] for j in glob.glob(os.path.join(findings, '*.json'))})
    if hit and hit[0] - t0 <= seconds:
        return max(hit[0] - t0, 0.0), kinds
    return None, kinds


def base_build(args, which, targets):
    base = os.path.join(args.out, 'base')
    os.makedirs(base, exist_ok=True)
    build(ROOT, base, which, args.cc, targets)
    seeds = os.path.join(args.out, 'seeds')
    shutil.rmtree(seeds, ignore_errors=True)
    run([sys.executable, os.path.join(ROOT, 'fuzz', 'make_seeds.py'), '--out', seeds, '--minimal'])
    return base, seeds


def fmt(times, trials):
    found = [t for t in times if t is not None]
    if not found:
        return f'not found (0/{trials})'
    med = statistics.median(found)
    return f'{med:.1f} s ({min(found):.1f}-{max(found):.1f}) {len(found)}/{trials}'


def cmd_run(args):
    ps = plants(args.plants)
    engines = [e for e in args.engines.split(',') if e]
    if 'afl' in engines and not shutil.which('afl-fuzz'):
        sys.exit('bench: afl-fuzz not installed (make fuzz-bench installs afl++)')
    t_start = time.time()
    targets = sorted({p.target for p in ps})
    base, seeds = base_build(args, engines, targets)
    results = {'seconds': args.seconds, 'trials': args.trials, 'engines': engines, 'plants': [], 'control': {}}
    load0 = open('/proc/loadavg').read().split()[:3]
    for p in ps:
        work = os.path.join(args.out, f'plant-{p.id}')
        print(f'== plant {p.id} {p.slug} ({p.target}): building', file=sys.stderr, flush=True)
        out = planted_build(p, base, work, engines, args.cc)
        row = {'id': p.id, 'slug': p.slug, 'target': p.target, 'bug': p.bug, 'times': {}, 'kinds': {}}
        for e in engines:
            row['times'][e], row['kinds'][e] = [], []
            for k in range(args.trials):
                t, kinds = fuzz_once(out, p.target, e, args.seconds, os.path.join(seeds, p.target),
                                     os.path.join(work, f'findings-{e}-{k + 1}'), p.finding, work)
                row['times'][e].append(t)
                row['kinds'][e].append(kinds)
                print(f'   {e} trial {k + 1}: {"%.1f s" % t if t is not None else "not found"} {kinds}',
                      file=sys.stderr, flush=True)
        results['plants'].append(row)
    if args.control_seconds > 0:
        for t in targets:
            for e in engines:
                _, kinds = fuzz_once(base, t, e, args.control_seconds, os.path.join(seeds, t),
                                     os.path.join(args.out, f'control-{t}-{e}'), re.compile('^$'),
                                     os.path.join(args.out, f'control-{t}-{e}-work'))
                results['control'][f'{t}/{e}'] = kinds
    results['wall_seconds'] = round(time.time() - t_start)
    results['load'] = {'start': load0, 'end': open('/proc/loadavg').read().split()[:3]}
    with open(os.path.join(args.out, 'bench.json'), 'w') as f:
        json.dump(results, f, indent=1)
    report(results, args.out)
    missed = [r['id'] for r in results['plants']
              if not any(t is not None for e in engines for t in r['times'][e])]
    return 1 if missed else 0


def known_findings():
    """TARGET-KIND names listed in fuzz/known-findings."""
    path = os.path.join(ROOT, 'fuzz', 'known-findings')
    return {line.split()[0] for line in open(path) if line.strip() and not line.startswith('#')}


def report(res, out):
    engines, trials = res['engines'], res['trials']
    names = {'libfuzzer': 'libFuzzer', 'afl': 'AFL++'}
    lines = [f'Planted-bug benchmark: time to the first finding of the plant\'s kind, median (range) and trials '
             f'that found it, {trials} trials of at most {res["seconds"]} s per engine, minimal seeds.', '',
             '| plant | target | bug | ' + ' | '.join(names[e] for e in engines) + ' |',
             '| --- | --- | --- |' + ' --- |' * len(engines)]
    found = {e: 0 for e in engines}
    anyfound = 0
    for r in res['plants']:
        lines.append(f'| {r["id"]} {r["slug"]} | {r["target"]} | {r["bug"]} | ' +
                     ' | '.join(fmt(r['times'][e], trials) for e in engines) + ' |')
        for e in engines:
            found[e] += any(t is not None for t in r['times'][e])
        anyfound += any(t is not None for e in engines for t in r['times'][e])
    n = len(res['plants'])
    lines.append('')
    lines.append('bugs found: ' + ', '.join(f'{names[e]} {found[e]}/{n}' for e in engines) +
                 f'; by at least one engine within {res["seconds"]} s: {anyfound}/{n}')
    known = known_findings()
    for k, kinds in res['control'].items():
        t = k.split('/')[0]
        new = [x for x in kinds if f'{t}-{x}' not in known]
        old = [x for x in kinds if f'{t}-{x}' in known]
        lines.append(f'control (unplanted) {k}: {", ".join(new) if new else "no new finding"}' +
                     (f' (known, fuzz/known-findings: {", ".join(old)})' if old else ''))
    lines.append(f'wall time {res["wall_seconds"]} s; load average at start {" ".join(res["load"]["start"])}, '
                 f'at end {" ".join(res["load"]["end"])}')
    text = '\n'.join(lines) + '\n'
    with open(os.path.join(out, 'bench.md'), 'w') as f:
        f.write(text)
    print(text)


def cmd_regress(args):
    """Every regress-NN-* input: its plant's finding in the planted replay
    build, none in the unplanted one; and the marker only in planted builds."""
    inputs = sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'corpus', '*', 'regress-[0-9][0-9]-*')))
    if not inputs:
        sys.exit('bench: no fuzz/corpus/*/regress-NN-* inputs')
    byid = {p.id: p for p in plants()}
    targets = sorted({os.path.basename(os.path.dirname(i)) for i in inputs})
    if args.base:  # a replay build already made (tests/test_fuzz.py's), WORK=OUT/obj-replay
        base = os.path.abspath(args.base)
        for t in targets:
            if not os.access(os.path.join(base, t + '-replay'), os.X_OK):
                sys.exit(f'bench: --base {base}: no {t}-replay (build.sh with SUFFIX=-replay, WORK=OUT/obj-replay)')
    else:
        base = os.path.join(args.out, 'base')
        os.makedirs(base, exist_ok=True)
        build(ROOT, base, ['replay'], args.cc, targets)
    bad = 0
    for exe in [e for e in glob.glob(os.path.join(base, '*-replay')) if os.path.isfile(e)] + [os.path.join(base, 'spawnlab-executor')]:
        if b'SL_PLANTED' in open(exe, 'rb').read():
            print(f'FAIL {exe}: an unplanted build contains a plant marker')
            bad = 1
    for path in inputs:
        target = os.path.basename(os.path.dirname(path))
        pid = os.path.basename(path).split('-')[1]
        p = byid.get(pid)
        if not p or p.target != target:
            print(f'FAIL {path}: no plant {pid} for {target} in fuzz/plants/')
            bad = 1
            continue
        out = planted_build(p, base, os.path.join(args.out, f'regress-{pid}'), ['replay'], args.cc)
        marked = b'SL_PLANTED ' + pid.encode() in open(os.path.join(out, 'spawnlab-executor'), 'rb').read() + \
            open(os.path.join(out, target + '-replay'), 'rb').read()
        res = {}
        for name, o in (('unplanted', base), ('planted', out)):
            env = dict(os.environ, SPAWNLAB_FINDINGS=os.path.join(args.out, f'regress-{pid}-{name}-findings'))
            r = subprocess.run([os.path.join(o, target + '-replay'), path], env=env, capture_output=True, text=True,
                               timeout=300)
            kinds = re.findall(r'^FINDING ' + re.escape(target) + r'-(\S+?):', r.stderr, re.M)
            res[name] = (r.returncode, kinds)
        ok_base = res['unplanted'] == (0, [])
        ok_plant = res['planted'][0] == 3 and any(p.finding.search(k) for k in res['planted'][1])
        ok = ok_base and ok_plant and marked
        bad |= not ok
        print(f'{"ok  " if ok else "FAIL"} {os.path.relpath(path, ROOT)}: unplanted {res["unplanted"]}, '
              f'planted {p.id} {res["planted"]}{"" if marked else ", marker missing"}')
    return bad | regress_cases(args, byid)


def planted_driver(plant, work):
    """The spawnlab driver and probe with PLANT, made by the Makefile in a
    copy of the tree, from a copy of the normal build's objects (so that
    only the patched file is compiled)."""
    tree, drv = os.path.join(work, 'src'), os.path.join(work, 'drv')
    copy_tree(tree)
    run(['patch', '-p1', '-s', '-i', plant.path], cwd=tree)
    base = os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build'))
    shutil.rmtree(drv, ignore_errors=True)
    for sub in ('obj', 'lib', 'gen'):  # objects, pdspawn's objects, libc_have.h (every object depends on it)
        if os.path.isdir(os.path.join(base, sub)):
            shutil.copytree(os.path.join(base, sub), os.path.join(drv, sub))
    san = os.path.join(base, '.san-flags')
    if os.path.exists(san):
        # A sanitizer build (make check-asan): its objects need its flags
        # to link; the probe stays unsanitized and static, as there.
        cc, flags = (open(san).read().split(None, 1) + [''])[:2]
        flags = flags.strip()
        run(['make', '-s', f'BUILD={drv}', f'CC={cc}', "OPT=-O1 -g", f'CFLAGS={flags}', f'LDFLAGS={flags}',
             f'{drv}/spawnlab'], cwd=tree)
        run(['make', '-s', f'BUILD={drv}', f'{drv}/probe'], cwd=tree)
    else:
        run(['make', '-s', f'BUILD={drv}', f'{drv}/spawnlab', f'{drv}/probe'], cwd=tree)
    return drv


def regress_cases(args, byid):
    """fuzz/regress-cases/FAMILY/*.case with a "# plant NN" line: the normal
    driver passes each, the driver built with plant NN fails it."""
    bad = 0
    base = os.environ.get('SPAWNLAB_BUILD', os.path.join(ROOT, 'build'))
    for case in sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'regress-cases', '*', '*.case'))):
        m = re.search(r'^# plant (\d\d)$', open(case).read(), re.M)
        p = byid.get(m.group(1)) if m else None
        if not p:
            print(f'FAIL {case}: no "# plant NN" line naming a plant')
            bad = 1
            continue
        fam = os.path.basename(os.path.dirname(case))
        name = re.search(r'^case\s+(\S+)', open(case).read(), re.M).group(1)
        work = os.path.join(args.out, f'case-{p.id}')
        cases = os.path.join(work, 'cases', fam)
        shutil.rmtree(os.path.join(work, 'cases'), ignore_errors=True)
        os.makedirs(cases)
        shutil.copy(case, cases)
        drv = planted_driver(p, work)
        res = {}
        for label, d in (('normal', base), ('planted', drv)):
            r = subprocess.run([os.path.join(d, 'spawnlab'), 'run', '--probe', os.path.join(d, 'probe'),
                                '--out', os.path.join(work, 'run-' + label), '--cases', os.path.join(work, 'cases'),
                                f'{fam}/{name}'], capture_output=True, text=True, timeout=600)
            m2 = re.search(r'(\d+) passed, (\d+) failed', r.stdout)
            res[label] = (r.returncode, m2.groups() if m2 else None)
        ok = res['normal'][0] == 0 and res['normal'][1] and res['normal'][1][1] == '0' and \
            res['normal'][1][0] != '0' and res['planted'][0] != 0 and res['planted'][1] and \
            res['planted'][1][1] != '0'
        bad |= not ok
        print(f'{"ok  " if ok else "FAIL"} {os.path.relpath(case, ROOT)}: normal build (exit, passed/failed) '
              f'{res["normal"]}, with plant {p.id} {res["planted"]}')
    return bad


def cmd_adopt(args):
    """Make the last `run`'s findings regression inputs: per plant the
    smallest input that found the plant's kind, minimized by libFuzzer
    (-minimize_crash with SPAWNLAB_FUZZ_TRAP=1, which turns a finding into
    a trap) in the planted build, then run once more to write its finding
    and, where the case language can say it, its case.  Writes
    fuzz/corpus/TARGET/regress-NN-SLUG and fuzz/regress-cases/fd/."""
    base = os.path.join(args.out, 'base')
    for p in plants(args.plants):
        work = os.path.join(args.out, f'plant-{p.id}')
        cands = []
        for j in glob.glob(os.path.join(work, 'findings-*', '*.json')):
            kind = json.load(open(j))['kind']
            b = j[:-5] + '.bin'
            if p.finding.search(kind) and os.path.exists(b):
                cands.append((os.path.getsize(b), b))
        if not cands:
            print(f'{p.id}: no finding to adopt (run `bench.py run` first)')
            continue
        src = sorted(cands)[0][1]
        out = planted_build(p, base, work, ['libfuzzer'], args.cc)
        exe = os.path.join(out, p.target)
        mini = os.path.join(work, 'minimized')
        shutil.rmtree(mini, ignore_errors=True)
        os.makedirs(mini)
        env = dict(os.environ, SPAWNLAB_FUZZ_TRAP='1', SPAWNLAB_FINDINGS=os.path.join(work, 'adopt-scratch'))
        subprocess.run([exe, '-minimize_crash=1', '-runs=3000', '-max_total_time=60', f'-exact_artifact_path={mini}/m',
                        src], env=env, capture_output=True, timeout=300)
        best = os.path.join(mini, 'm') if os.path.exists(os.path.join(mini, 'm')) else src
        findings = os.path.join(work, 'adopt-findings')
        shutil.rmtree(findings, ignore_errors=True)
        r = subprocess.run([exe, '-runs=1', best], env=dict(os.environ, SPAWNLAB_FINDINGS=findings),
                           capture_output=True, text=True, timeout=300)
        hit = first_finding(findings, p.finding)
        if not hit:
            print(f'{p.id}: the minimized input does not reproduce; keeping {src}')
            best, hit = src, None
        dest = os.path.join(ROOT, 'fuzz', 'corpus', p.target, f'regress-{p.id}-{p.slug}')
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(best, dest)
        msg = f'{p.id}: {os.path.relpath(dest, ROOT)} ({os.path.getsize(dest)} bytes)'
        case = hit and json.load(open(hit[1])).get('case')
        if case and os.path.exists(case):
            name = f'regress_{p.id}_{p.slug.replace("-", "_")}'
            text = open(case).read()
            text = re.sub(r'^case\s+\S+', f'case    {name}', text, count=1, flags=re.M)
            text = re.sub(r'^# Written by .*\n# The expectation .*\n',
                          f'# Regression case of planted bug {p.id} ({p.slug}, fuzz/plants/): fuzz/bench.py adopt\n'
                          f'# wrote it from the fd_combo finding {hit[2]}.  The expectation is the model\'s\n'
                          f'# (fuzz/model_fd.c): a build with the plant fails it, the normal build passes.\n'
                          f'# plant {p.id}\n', text, count=1, flags=re.M)
            cdest = os.path.join(ROOT, 'fuzz', 'regress-cases', 'fd', f'regress-{p.id}-{p.slug}.case')
            os.makedirs(os.path.dirname(cdest), exist_ok=True)
            open(cdest, 'w').write(text)
            msg += f', case {os.path.relpath(cdest, ROOT)}'
        print(msg)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('command', choices=('run', 'regress', 'adopt'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'build', 'fuzz-bench'))
    ap.add_argument('--seconds', type=int, default=int(os.environ.get('BENCH_SECONDS', 60)))
    ap.add_argument('--trials', type=int, default=int(os.environ.get('BENCH_TRIALS', 3)))
    ap.add_argument('--engines', default='libfuzzer,afl')
    ap.add_argument('--plants', default=os.environ.get('PLANTS', ''), help='e.g. 01,07 (default: all)')
    ap.add_argument('--control-seconds', type=int, default=int(os.environ.get('BENCH_CONTROL_SECONDS', 30)))
    ap.add_argument('--cc', default=os.environ.get('CC', 'cc'), help='compiler of the replay build')
    ap.add_argument('--base', help='regress: an existing replay build of --cc to plant into (default: build one)')
    a = ap.parse_args()
    a.plants = [x for x in re.split(r'[ ,]+', a.plants) if x]
    a.out = os.path.abspath(a.out)
    os.makedirs(a.out, exist_ok=True)
    sys.exit({'run': cmd_run, 'regress': cmd_regress, 'adopt': cmd_adopt}[a.command](a))


if __name__ == '__main__':
    main()
