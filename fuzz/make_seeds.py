#!/usr/bin/python3
"""Write the seed corpora of the clone_flags and fd_combo fuzz targets.

The layouts are the targets' decoders (decode() in clone_flags.c and
fd_combo.c); each seed is one meaningful request, so that coverage starts
from real flag sets and fd programs rather than from noise.
usage: fuzz/make_seeds.py [--out fuzz/corpus]
"""
import argparse
import os
import struct

CLONE = dict(VM=0x100, FS=0x200, FILES=0x400, SIGHAND=0x800, PIDFD=0x1000, PTRACE=0x2000,
             VFORK=0x4000, PARENT=0x8000, THREAD=0x10000, NEWNS=0x20000, SYSVSEM=0x40000,
             SETTLS=0x80000, PARENT_SETTID=0x100000, CHILD_CLEARTID=0x200000, DETACHED=0x400000,
             UNTRACED=0x800000, CHILD_SETTID=0x1000000, NEWCGROUP=0x2000000, NEWUTS=0x4000000,
             NEWIPC=0x8000000, NEWUSER=0x10000000, NEWPID=0x20000000, NEWNET=0x40000000,
             IO=0x80000000, CLEAR_SIGHAND=1 << 32, INTO_CGROUP=1 << 33, NEWTIME=0x80)
SIZES = [64, 80, 88, 63, 0, 72, 96, 4096, 4097, 65, 8]


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
    'unknown_bit': clone_seed('') [:2] + struct.pack('<Q', 1 << 40) + clone_seed('')[10:],
}

# fd_combo: see fd_combo.c decode() for the opcodes.
def fd_seed(pair, maps, ops):
    m = list(maps) + [0] * (6 - len(maps))
    return bytes([pair, len(maps) // 2] + m) + b''.join(bytes(o) for o in ops)


# opcodes: 0 open 1 pipe2 2 socketpair 3 eventfd 4 memfd 5 epoll 6 pidfd_open 7 dup 8 dup2
# 9 dup3 10 F_DUPFD 11 F_SETFD 12 FIOCLEX 13 FIONCLEX 14 close 15 close_range
FD_SEEDS = {
    'creators_both_ways': fd_seed(0x08, [], [(c, o, 0, 0) for c in range(6) for o in (0, 1)] + [(6, 0, 0, 0)]),
    'dup_family': fd_seed(0x11, [0, 20, 1, 21], [(0, 1, 0, 0), (7, 0, 0x80, 0), (8, 0, 0x80, 30),
                                                 (9, 1, 0x80, 31), (9, 0, 0x80, 0x80), (10, 1, 0x80, 40)]),
    'flag_flips': fd_seed(0x2a, [0, 5], [(1, 0, 0, 0), (11, 1, 0x80, 0), (12, 0, 0x81, 0), (13, 0, 0x80, 0)]),
    'close_range_cloexec': fd_seed(0x05, [2, 25], [(0, 0, 0, 0), (0, 0, 0, 0), (8, 0, 0x80, 20),
                                                   (15, 1, 0, 60)]),
    'close_range_close': fd_seed(0x0d, [], [(1, 0, 0, 0), (8, 0, 0x80, 22), (15, 0, 10, 30), (14, 0, 0x80, 0)]),
    'pdspawn_map': fd_seed(0x2d, [0, 7, 1, 8, 2, 9], [(2, 0, 0, 0), (3, 1, 0, 0), (1, 1, 0, 0)]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus'))
    a = ap.parse_args()
    for target, seeds in (('clone_flags', CLONE_SEEDS), ('fd_combo', FD_SEEDS)):
        d = os.path.join(a.out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    main()
