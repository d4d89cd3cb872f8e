#!/usr/bin/python3
"""Write the seed corpora and dictionaries of the clone_flags and fd_combo fuzz targets.

The layouts are the targets' decoders (decode() in clone_flags.c and
fd_combo.c); each seed is one meaningful request, so that coverage starts
from real flag sets and fd programs rather than from noise.  fd_combo names
fd-creating calls by their index in the fdmake table, which is read from
harness/families/fd/step_fdmake.c (FDCALLS), never repeated here.  fuzz/build.sh runs
this into its output folder; regression inputs are committed separately in
fuzz/corpus/TARGET/ and --committed adds them (and every case file, as
case_parse seeds); --zips writes OSS-Fuzz's TARGET_seed_corpus.zip.
usage: fuzz/make_seeds.py --out DIR [--dicts DIR] [--minimal] [--committed] [--zips DIR]
"""
import argparse
import glob
import os
import re
import shutil
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLONE = dict(VM=0x100, FS=0x200, FILES=0x400, SIGHAND=0x800, PIDFD=0x1000, PTRACE=0x2000,
             VFORK=0x4000, PARENT=0x8000, THREAD=0x10000, NEWNS=0x20000, SYSVSEM=0x40000,
             SETTLS=0x80000, PARENT_SETTID=0x100000, CHILD_CLEARTID=0x200000, DETACHED=0x400000,
             UNTRACED=0x800000, CHILD_SETTID=0x1000000, NEWCGROUP=0x2000000, NEWUTS=0x4000000,
             NEWIPC=0x8000000, NEWUSER=0x10000000, NEWPID=0x20000000, NEWNET=0x40000000,
             IO=0x80000000, CLEAR_SIGHAND=1 << 32, INTO_CGROUP=1 << 33, AUTOREAP=1 << 34,
             NNP=1 << 35, PIDFD_AUTOKILL=1 << 36, EMPTY_MNTNS=1 << 37, NEWTIME=0x80)
SIZES = [64, 80, 88, 63, 0, 72, 96, 4096, 4097, 65, 8]
TARGETS = ('clone_flags', 'fd_combo', 'case_parse')


def clone_seed(flags, sig=17, size=64, ctl=0, tid_size=0, tids=(0, 0, 0, 0), cg=0):
    f = 0
    for name in flags.split('|') if flags else []:
        f |= CLONE[name]
    b = struct.pack('<BBQB', ctl, SIZES.index(size), f, sig & 0xff)
    if ctl & 0x20:
        b += struct.pack('<I', sig >> 8)
    return b + struct.pack('<B4BB', tid_size, *tids, cg)


CLONE_SEEDS = {
    'fork': clone_seed(''),
    'pidfd': clone_seed('PIDFD'),
    'pidfd_parent_settid_same': clone_seed('PIDFD|PARENT_SETTID', ctl=2),
    'pidfd_parent_settid_apart': clone_seed('PIDFD|PARENT_SETTID'),
    'pidfd_null': clone_seed('PIDFD', ctl=1),
    'pidfd_detached': clone_seed('PIDFD|DETACHED'),
    'sighand_no_vm': clone_seed('SIGHAND'),
    'thread_no_sighand': clone_seed('THREAD|VM', sig=0),
    'thread': clone_seed('THREAD|SIGHAND|VM|SETTLS|PARENT_SETTID|CHILD_CLEARTID', sig=0),
    'thread_pidfd': clone_seed('THREAD|SIGHAND|VM|PIDFD', sig=0),
    'vm_vfork': clone_seed('VM|VFORK'),
    'newns_fs': clone_seed('NEWNS|FS'),
    'newuser_fs': clone_seed('NEWUSER|FS'),
    'newipc_sysvsem': clone_seed('NEWIPC|SYSVSEM'),
    'namespaces': clone_seed('NEWNS|NEWUTS|NEWIPC|NEWPID|NEWCGROUP|NEWUSER'),
    'newtime': clone_seed('NEWTIME'),
    'newpid_thread': clone_seed('NEWPID|THREAD|SIGHAND|VM', sig=0),
    'clear_sighand': clone_seed('CLEAR_SIGHAND'),
    'clear_sighand_sighand': clone_seed('CLEAR_SIGHAND|SIGHAND|VM'),
    'parent_exit_signal': clone_seed('PARENT', sig=10),
    'parent': clone_seed('PARENT', sig=0),
    'exit_signal_0': clone_seed('', sig=0),
    'exit_signal_64': clone_seed('', sig=64),
    'exit_signal_65': clone_seed('', sig=65),
    'exit_signal_high': clone_seed('', sig=17 | (1 << 32), ctl=0x20),
    'size_ver1': clone_seed('', size=80),
    'size_ver2': clone_seed('', size=88),
    'size_small': clone_seed('', size=63),
    'size_tail_zero': clone_seed('', size=96),
    'size_tail_nonzero': clone_seed('', size=96, ctl=4),
    'size_page_plus': clone_seed('', size=4097),
    'stack_size_only': clone_seed('', ctl=8),
    'set_tid_self': clone_seed('', size=80, tid_size=1, tids=(2, 0, 0, 0)),
    'set_tid_free': clone_seed('', size=80, tid_size=1, tids=(5, 0, 0, 0)),
    'set_tid_zero': clone_seed('', size=80, tid_size=1, tids=(0, 0, 0, 0)),
    'set_tid_null': clone_seed('', size=80, tid_size=1, ctl=0x10),
    'set_tid_newpid': clone_seed('NEWPID', size=80, tid_size=1, tids=(1, 0, 0, 0)),
    'set_tid_newpid_not1': clone_seed('NEWPID', size=80, tid_size=1, tids=(5, 0, 0, 0)),
    'set_tid_too_many': clone_seed('', size=80, tid_size=33),
    'into_cgroup': clone_seed('INTO_CGROUP', size=88, cg=0),
    'into_cgroup_devnull': clone_seed('INTO_CGROUP', size=88, cg=1),
    'into_cgroup_badfd': clone_seed('INTO_CGROUP', size=88, cg=2),
    'into_cgroup_ver1': clone_seed('INTO_CGROUP', size=80, cg=0),
    'unknown_bit': clone_seed('')[:2] + struct.pack('<Q', 1 << 40) + clone_seed('')[10:],
    # Linux 7.1 flags: unknown bits (EINVAL) before, rules of their own after.
    'autoreap': clone_seed('AUTOREAP|PIDFD', sig=0),
    'autoreap_signal': clone_seed('AUTOREAP'),
    'nnp': clone_seed('NNP'),
    'nnp_thread': clone_seed('NNP|THREAD|SIGHAND|VM', sig=0),
    'pidfd_autokill': clone_seed('PIDFD_AUTOKILL|PIDFD|AUTOREAP|NNP', sig=0),
    'pidfd_autokill_no_autoreap': clone_seed('PIDFD_AUTOKILL|PIDFD', sig=0),
    'empty_mntns': clone_seed('EMPTY_MNTNS'),
    'empty_mntns_fs': clone_seed('EMPTY_MNTNS|FS'),
}

# ---- fd_combo (fd_combo.c decode) ----
FOP = dict(MAKE=0, DUP=1, DUP2=2, DUP3=3, DUPFD=4, SETFD=5, FIOCLEX=6, FIONCLEX=7, CLOSE=8,
           CLOSE_RANGE=9, SIGNAL=10)
SIGACT = dict(ignore=0, default=1, handle=2, block=3, unblock=4)
PAIRS = {'pipe', 'pipe2', 'socketpair'}


def fdmake_calls():
    """The fdmake table's call names, in table order (harness/families/fd/step_fdmake.c)."""
    src = open(os.path.join(ROOT, 'harness', 'families', 'fd', 'step_fdmake.c')).read()
    body = src[src.index('#define FDCALLS(X)'):]
    body = body[:body.index('\n\n')]
    return re.findall(r'X\((\w+),', body)


def win(fd):
    """An operand byte naming window fd FD (3..63)."""
    return fd - 3


def fd_seed(backend=0, opts=0, maps=(), closes=(), closefrom=0, ops=()):
    m = [b for pair in maps for b in pair] + [0] * (6 - 2 * len(maps))
    c = list(closes) + [0] * (3 - len(closes))
    hdr = bytes([backend, opts | (len(maps) << 1) | (len(closes) << 3)] + m + c + [closefrom])
    return hdr + b''.join(bytes(o) for o in ops)


def make(calls, name, fd, cloexec, fd2=None):
    i = calls.index(name)
    return (FOP['MAKE'], (i << 1) | cloexec, win(fd), win(fd2) if fd2 is not None else 0x40)


def fd_seeds():
    calls = fdmake_calls()
    seeds = {}
    # every creating call, both ways, twelve to a program
    for k in range(0, len(calls), 12):
        for ce in (0, 1):
            ops = []
            for j, name in enumerate(calls[k:k + 12]):
                fd = 10 + 2 * j
                ops.append(make(calls, name, fd, ce, fd + 1 if name in PAIRS else None))
            seeds['calls_%02d_cloexec%d' % (k, ce)] = fd_seed(backend=k // 12, ops=ops)
    seeds['dup_family'] = fd_seed(1, maps=[(0x80, win(20)), (0x81, win(21))], ops=[
        make(calls, 'open', 5, 1), (FOP['DUP'], 0, 0x80, 0), (FOP['DUP2'], 0, 0x80, win(30)),
        (FOP['DUP3'], 1, 0x80, win(31)), (FOP['DUP3'], 0, 0x80, 0x80), (FOP['DUPFD'], 1, 0x80, win(40))])
    seeds['flag_flips'] = fd_seed(2, ops=[
        make(calls, 'pipe2', 6, 0, 7), (FOP['SETFD'], 1, 0x80, 0), (FOP['FIOCLEX'], 0, 0x81, 0),
        (FOP['FIONCLEX'], 0, 0x80, 0)])
    seeds['close_range_cloexec'] = fd_seed(3, maps=[(0x82, win(25))], ops=[
        make(calls, 'eventfd', 4, 0), make(calls, 'memfd_create', 8, 0), (FOP['DUP2'], 0, 0x80, win(20)),
        (FOP['CLOSE_RANGE'], 1, win(3), win(60))])
    seeds['close_range_close'] = fd_seed(4, ops=[
        make(calls, 'socketpair', 5, 0, 9), (FOP['DUP2'], 0, 0x80, win(22)),
        (FOP['CLOSE_RANGE'], 0, win(10), win(30)), (FOP['CLOSE'], 0, 0x80, 0)])
    seeds['pdspawn_map'] = fd_seed(5, maps=[(0x80, win(7)), (0x81, win(8)), (0x82, win(9))], ops=[
        make(calls, 'pipe', 4, 0, 5), make(calls, 'eventfd', 6, 1), make(calls, 'open', 12, 0)])
    seeds['close_actions'] = fd_seed(0, closes=(0, 1), closefrom=win(20), ops=[
        make(calls, 'open', 4, 0), make(calls, 'pipe', 5, 0, 6), make(calls, 'dup', 21, 0)])
    for b in range(6):
        seeds['signals_%d' % b] = fd_seed(b, opts=1 if b == 5 else 0, ops=[
            (FOP['SIGNAL'], SIGACT['ignore'], 13 - 1, 0), (FOP['SIGNAL'], SIGACT['handle'], 10 - 1, 0),
            (FOP['SIGNAL'], SIGACT['block'], 12 - 1, 0), (FOP['SIGNAL'], SIGACT['ignore'], 40 - 1, 0),
            (FOP['SIGNAL'], SIGACT['block'], 9 - 1, 0), (FOP['SIGNAL'], SIGACT['ignore'], 19 - 1, 0),
            make(calls, 'open', 3, 0)])
    return seeds


def minimal_seeds():
    """The benchmark's seeds (fuzz/bench.py): a plain fork, and an empty
    program for each backend, so that what is found is found by fuzzing."""
    return {'fork': clone_seed('')}, {'empty_%d' % b: fd_seed(b) for b in range(6)}


def clone_dict():
    lines = ['# clone_flags: 64-bit clone flags, little-endian, as the decoder reads them (make_seeds.py)']
    for name, v in sorted(CLONE.items(), key=lambda kv: kv[1]):
        lines.append('flag_%s="%s"' % (name, ''.join('\\x%02x' % b for b in struct.pack('<Q', v))))
    return '\n'.join(lines) + '\n'


def fd_dict():
    lines = ['# fd_combo: one op each, opcode option a b (fd_combo.c decode_op; make_seeds.py)']
    calls = fdmake_calls()
    for i, name in enumerate(calls):
        for ce in (0, 1):
            lines.append('make_%s_%d="\\x00\\x%02x\\x80\\x81"' % (name, ce, (i << 1) | ce))
    for name, code in FOP.items():
        if code != FOP['MAKE']:
            for opt in range(5 if name == 'SIGNAL' else 2):
                lines.append('op_%s_%d="\\x%02x\\x%02x\\x80\\x81"' % (name.lower(), opt, code, opt))
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True, help='folder for TARGET/ seed folders')
    ap.add_argument('--dicts', help='folder for TARGET.dict files')
    ap.add_argument('--minimal', action='store_true', help='only the benchmark\'s minimal seeds')
    ap.add_argument('--committed', action='store_true',
                    help='add fuzz/corpus/TARGET/* and every case file (case_parse)')
    ap.add_argument('--zips', help='folder for TARGET_seed_corpus.zip of every target')
    a = ap.parse_args()
    cs, fs = minimal_seeds() if a.minimal else (CLONE_SEEDS, fd_seeds())
    for target, seeds in (('clone_flags', cs), ('fd_combo', fs)):
        d = os.path.join(a.out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
    if a.dicts:
        os.makedirs(a.dicts, exist_ok=True)
        for target, text in (('clone_flags', clone_dict()), ('fd_combo', fd_dict())):
            with open(os.path.join(a.dicts, target + '.dict'), 'w') as f:
                f.write(text)
    if a.committed:
        for target in TARGETS:
            os.makedirs(os.path.join(a.out, target), exist_ok=True)
            for f in sorted(glob.glob(os.path.join(ROOT, 'fuzz', 'corpus', target, '*'))):
                if os.path.isfile(f):
                    shutil.copy(f, os.path.join(a.out, target))
        for c in sorted(glob.glob(os.path.join(ROOT, 'cases', '*', '*.case'))):
            family = os.path.basename(os.path.dirname(c))
            shutil.copy(c, os.path.join(a.out, 'case_parse', family + '-' + os.path.basename(c)))
    if a.zips:
        for target in TARGETS:
            d = os.path.join(a.out, target)
            with zipfile.ZipFile(os.path.join(a.zips, target + '_seed_corpus.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
                for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                    z.write(os.path.join(d, n), n)


if __name__ == '__main__':
    main()
