"""The sandboxed child's system-call filter: an allow-list (seccomp BPF, written with ctypes).

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.

Only the calls a Python interpreter computing with torch needs are allowed: memory,
threads, signals to itself, time, reading files and writing the ones it may, I/O on
descriptors it already holds. Everything else answers EPERM: no new processes, no
programs, no sockets (and no io_uring, which makes sockets without socket()), no
namespaces or mounts, no ptrace or process_vm_*, no keyrings (a channel every child
of one user shares), no bpf, perf_event_open, userfaultfd, inotify (watching
classmates' files), System V IPC (storage that outlives the child), no handles to
files by number (open_by_handle_at). Some calls are allowed only with safe
arguments: ``clone`` only for a thread, ``kill``/``tgkill`` only towards itself,
``prlimit64`` and ``sched_setaffinity`` only on itself, ``ioctl`` only for the terminal and
descriptor queries Python makes (TIOCSTI, which types into a terminal, is refused), ``fcntl``
without the commands that send SIGIO to another process or watch files.

With CUDA (``cuda=True``) two rules change, and nothing else: ``ioctl`` also takes the NVIDIA
driver's requests (:data:`NVIDIA_IOCTL_TYPE`, the resource manager's ``_IOWR('F', ...)`` on
``nvidiactl`` and ``nvidiaN``, and :data:`UVM_IOCTLS`, unified memory's numbers on
``nvidia-uvm``), and ``mmap`` refuses shared anonymous memory, which ``RLIMIT_DATA`` (the host
memory bound with CUDA) does not count. A filter cannot see which file a descriptor is, so
these requests are allowed on any descriptor; on any other file the kernel answers them ENOTTY.
"""

from __future__ import annotations

import ctypes
import os

from grader.sandbox.child.libc import LIBC, check

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000
_EPERM, _ENOTTY, _ENOSYS = 1, 25, 38
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_LOG = 0x7FFC0000   # allowed and logged (diagnosing the filter only: :func:`syscall_filter`'s log_refused)
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET, _AND = 0x20, 0x15, 0x35, 0x45, 0x06, 0x54
_X32_SYSCALL_BIT = 0x40000000
_ARG0, _ARG1, _ARG3 = 16, 24, 40   # offsets of the low halves of args[0], args[1], args[3] in seccomp_data

# ioctl requests Python and torch make on their own descriptors: TCGETS (isatty), TIOCGWINSZ,
# FIONREAD, FIONBIO, FIONCLEX, FIOCLEX.
IOCTLS = (0x5401, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451)
# fcntl commands on its own descriptors: duplicate, flags, locks, pipe sizes, seals. Not F_SETOWN,
# F_SETOWN_EX or F_SETSIG (SIGIO sent to another process), F_SETLEASE or F_NOTIFY (watching files).
FCNTLS = (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 16, 36, 37, 38, 1025, 1030, 1031, 1032, 1033, 1034)
# With CUDA: the NVIDIA resource manager's ioctls are _IOWR(NV_IOCTL_MAGIC='F', nr, size), so their
# type byte (bits 8-15) is 'F'; unified memory's (nvidia-uvm) are plain numbers: 1 to UVM_LAST (its
# UVM_IOCTL_BASE(i) is i), UVM_IS_8_SUPPORTED (2047), UVM_INITIALIZE and UVM_DEINITIALIZE.
NVIDIA_IOCTL_TYPE = ord("F")
UVM_LAST = 127
UVM_IOCTLS = (2047, 0x30000001, 0x30000002)
MAP_SHARED, MAP_ANONYMOUS = 0x01, 0x20

# The allowed calls, by name; the numbers per architecture come from the kernel's headers
# (asm/unistd_64.h for x86_64, asm-generic/unistd.h for aarch64).
ALLOWED = (
    "read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 close close_range "
    "fstat stat lstat newfstatat statx fstatfs statfs lseek mmap mprotect munmap mremap madvise brk msync "
    "mincore mbind get_mempolicy set_mempolicy rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack "
    "rt_sigpending rt_sigtimedwait rt_sigsuspend fcntl flock dup dup2 dup3 pipe pipe2 access faccessat "
    "faccessat2 open openat readlink readlinkat getdents64 getcwd chdir fchdir mkdir mkdirat rmdir unlink "
    "unlinkat rename renameat renameat2 ftruncate truncate fsync fdatasync fallocate umask poll ppoll select "
    "pselect6 epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd2 futex futex_waitv "
    "set_robust_list rseq set_tid_address gettid getpid getppid getuid geteuid getgid getegid getgroups "
    "getresuid getresgid getpgrp getpgid getsid exit exit_group wait4 sched_yield sched_getaffinity "
    "sched_setaffinity sched_getparam sched_getscheduler sched_get_priority_max sched_get_priority_min "
    "sched_getattr getpriority nanosleep clock_nanosleep clock_gettime clock_getres gettimeofday time "
    "getrandom uname sysinfo getrlimit setrlimit getrusage times prctl arch_prctl getitimer setitimer alarm "
    "timer_create timer_settime timer_gettime timer_getoverrun timer_delete timerfd_create timerfd_settime "
    "timerfd_gettime membarrier getcpu restart_syscall pause fadvise64 readahead getxattr lgetxattr "
    "fgetxattr listxattr llistxattr flistxattr capget"
).split()

_X86_64 = {
    "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "poll": 7, "lseek": 8,
    "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14,
    "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "access": 21,
    "pipe": 22, "select": 23, "sched_yield": 24, "mremap": 25, "msync": 26, "mincore": 27, "madvise": 28,
    "dup": 32, "dup2": 33, "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm": 37, "setitimer": 38,
    "getpid": 39, "clone": 56, "exit": 60, "wait4": 61, "kill": 62, "uname": 63, "fcntl": 72, "flock": 73,
    "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getcwd": 79, "chdir": 80, "fchdir": 81,
    "rename": 82, "mkdir": 83, "rmdir": 84, "unlink": 87, "readlink": 89, "umask": 95, "gettimeofday": 96,
    "getrlimit": 97, "getrusage": 98, "sysinfo": 99, "times": 100, "getuid": 102, "getgid": 104,
    "geteuid": 107, "getegid": 108, "getppid": 110, "getpgrp": 111, "getgroups": 115, "getresuid": 118,
    "getresgid": 120, "getpgid": 121, "getsid": 124, "capget": 125, "rt_sigpending": 127,
    "rt_sigtimedwait": 128, "rt_sigsuspend": 130, "sigaltstack": 131, "statfs": 137, "fstatfs": 138,
    "getpriority": 140, "sched_getparam": 143, "sched_getscheduler": 145, "sched_get_priority_max": 146,
    "sched_get_priority_min": 147, "prctl": 157, "arch_prctl": 158, "setrlimit": 160, "gettid": 186,
    "readahead": 187, "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193, "listxattr": 194,
    "llistxattr": 195, "flistxattr": 196, "time": 201, "futex": 202, "sched_setaffinity": 203,
    "sched_getaffinity": 204, "getdents64": 217, "set_tid_address": 218, "restart_syscall": 219,
    "fadvise64": 221, "timer_create": 222, "timer_settime": 223, "timer_gettime": 224,
    "timer_getoverrun": 225, "timer_delete": 226, "clock_gettime": 228, "clock_getres": 229,
    "clock_nanosleep": 230, "exit_group": 231, "epoll_wait": 232, "epoll_ctl": 233, "tgkill": 234,
    "mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239, "openat": 257, "mkdirat": 258,
    "newfstatat": 262, "unlinkat": 263, "renameat": 264, "readlinkat": 267, "faccessat": 269,
    "pselect6": 270, "ppoll": 271, "set_robust_list": 273, "epoll_pwait": 281, "timerfd_create": 283,
    "fallocate": 285, "timerfd_settime": 286, "timerfd_gettime": 287, "eventfd2": 290, "epoll_create1": 291,
    "dup3": 292, "pipe2": 293, "preadv": 295, "pwritev": 296, "prlimit64": 302, "getcpu": 309,
    "sched_getattr": 315, "renameat2": 316, "getrandom": 318, "membarrier": 324, "preadv2": 327,
    "pwritev2": 328, "statx": 332, "rseq": 334, "clone3": 435, "close_range": 436, "faccessat2": 439,
    "epoll_pwait2": 441, "futex_waitv": 449,
}
_AARCH64 = {
    "getxattr": 8, "lgetxattr": 9, "fgetxattr": 10, "listxattr": 11, "llistxattr": 12, "flistxattr": 13,
    "getcwd": 17, "eventfd2": 19, "epoll_create1": 20, "epoll_ctl": 21, "epoll_pwait": 22, "dup": 23,
    "dup3": 24, "fcntl": 25, "ioctl": 29, "flock": 32, "mkdirat": 34, "unlinkat": 35, "renameat": 38,
    "statfs": 43, "fstatfs": 44, "truncate": 45, "ftruncate": 46, "fallocate": 47, "faccessat": 48,
    "chdir": 49, "fchdir": 50, "openat": 56, "close": 57, "pipe2": 59, "getdents64": 61, "lseek": 62,
    "read": 63, "write": 64, "readv": 65, "writev": 66, "pread64": 67, "pwrite64": 68, "preadv": 69,
    "pwritev": 70, "pselect6": 72, "ppoll": 73, "readlinkat": 78, "newfstatat": 79, "fstat": 80,
    "fsync": 82, "fdatasync": 83, "timerfd_create": 85, "timerfd_settime": 86, "timerfd_gettime": 87,
    "capget": 90, "exit": 93, "exit_group": 94, "set_tid_address": 96, "futex": 98, "set_robust_list": 99,
    "nanosleep": 101, "getitimer": 102, "setitimer": 103, "timer_create": 107, "timer_gettime": 108,
    "timer_getoverrun": 109, "timer_settime": 110, "timer_delete": 111, "clock_gettime": 113,
    "clock_getres": 114, "clock_nanosleep": 115, "sched_getscheduler": 120, "sched_getparam": 121,
    "sched_setaffinity": 122, "sched_getaffinity": 123, "sched_yield": 124, "sched_get_priority_max": 125,
    "sched_get_priority_min": 126, "restart_syscall": 128, "kill": 129, "tgkill": 131, "sigaltstack": 132,
    "rt_sigsuspend": 133, "rt_sigaction": 134, "rt_sigprocmask": 135, "rt_sigpending": 136,
    "rt_sigtimedwait": 137, "rt_sigreturn": 139, "getpriority": 141, "getresuid": 148, "getresgid": 150,
    "times": 153, "getpgid": 155, "getsid": 156, "getgroups": 158, "uname": 160, "getrlimit": 163,
    "setrlimit": 164, "getrusage": 165, "umask": 166, "prctl": 167, "getcpu": 168, "gettimeofday": 169,
    "getpid": 172, "getppid": 173, "getuid": 174, "geteuid": 175, "getgid": 176, "getegid": 177,
    "gettid": 178, "sysinfo": 179, "brk": 214, "munmap": 215, "mremap": 216, "clone": 220, "mmap": 222,
    "fadvise64": 223, "mprotect": 226, "msync": 227, "mincore": 232, "madvise": 233, "mbind": 235,
    "get_mempolicy": 236, "set_mempolicy": 237, "wait4": 260, "prlimit64": 261, "sched_getattr": 275,
    "renameat2": 276, "getrandom": 278, "membarrier": 283, "preadv2": 286, "pwritev2": 287, "statx": 291,
    "rseq": 293, "readahead": 213, "clone3": 435, "close_range": 436, "faccessat2": 439,
    "epoll_pwait2": 441, "futex_waitv": 449,
}
# Per architecture: its audit id and its call numbers.
_ARCHES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _only_if(number: int, offset: int, values: tuple[int, ...], refuse: int) -> list[tuple[int, int, int, int]]:
    """Allow call ``number`` only when the argument at ``offset`` is one of ``values``; else ``refuse``."""
    program = [(_JEQ, 0, len(values) + 3, number), (_LD_W_ABS, 0, 0, offset)]
    for index, value in enumerate(values):
        program.append((_JEQ, len(values) - index, 0, value))   # to the ALLOW below
    program += [(_RET, 0, 0, refuse), (_RET, 0, 0, _RET_ALLOW), (_LD_W_ABS, 0, 0, 0)]
    return program


def _nvidia_ioctls(number: int, refuse: int) -> list[tuple[int, int, int, int]]:
    """``ioctl`` with CUDA: Python's own requests, the resource manager's ('F') and unified memory's."""
    own = IOCTLS + UVM_IOCTLS
    body = [(_LD_W_ABS, 0, 0, _ARG1)]
    for value in own:
        body.append((_JEQ, 0, 1, value))
        body.append((_RET, 0, 0, _RET_ALLOW))
    body += [(_JGE, 0, 2, 1), (_JGE, 1, 0, UVM_LAST + 1), (_RET, 0, 0, _RET_ALLOW),   # 1 <= request <= UVM_LAST
             (_AND, 0, 0, 0xFF00), (_JEQ, 0, 1, NVIDIA_IOCTL_TYPE << 8), (_RET, 0, 0, _RET_ALLOW),
             (_RET, 0, 0, refuse)]
    return [(_JEQ, 0, len(body), number), *body, (_LD_W_ABS, 0, 0, 0)]


def _no_shared_anonymous(number: int, refuse: int) -> list[tuple[int, int, int, int]]:
    """``mmap`` with CUDA: not MAP_SHARED | MAP_ANONYMOUS (memory RLIMIT_DATA would not count)."""
    both = MAP_SHARED | MAP_ANONYMOUS
    return [(_JEQ, 0, 4, number), (_LD_W_ABS, 0, 0, _ARG3), (_AND, 0, 0, both), (_JEQ, 0, 1, both),
            (_RET, 0, 0, refuse), (_LD_W_ABS, 0, 0, 0)]


def syscall_filter(machine: str, pid: int | None = None, *, cuda: bool = False,
                   log_refused: bool = False) -> list[tuple[int, int, int, int]] | None:
    """The seccomp BPF program (code, jt, jf, k) for ``machine``, or None where unknown.

    ``pid`` is the process the filter is for (its own signals and limits are allowed);
    ``cuda``: also the NVIDIA driver's ioctls, and no shared anonymous memory (module docstring).
    ``log_refused`` (for diagnosing the filter on a new machine, never for grading): every call
    the filter would refuse is allowed and logged by the kernel's audit instead.
    """
    if machine not in _ARCHES:
        return None
    arch, numbers = _ARCHES[machine]
    pid = os.getpid() if pid is None else pid

    def refuse(errno: int) -> int:
        return _RET_LOG if log_refused else _RET_ERRNO | errno

    program = [(_LD_W_ABS, 0, 0, 4),                     # seccomp_data.arch
               (_JEQ, 1, 0, arch), (_RET, 0, 0, refuse(_EPERM)),   # another ABI (int 0x80): refused
               (_LD_W_ABS, 0, 0, 0)]                     # seccomp_data.nr
    if machine == "x86_64":
        program += [(_JGE, 0, 1, _X32_SYSCALL_BIT), (_RET, 0, 0, refuse(_EPERM))]
    # clone3 answers ENOSYS, so the C library falls back to clone, whose flags a filter can read.
    program += [(_JEQ, 0, 1, numbers["clone3"]), (_RET, 0, 0, _RET_ERRNO | _ENOSYS)]
    program += [(_JEQ, 0, 4, numbers["clone"]),
                (_LD_W_ABS, 0, 0, _ARG0),                # the low half of args[0]: the clone flags
                (_JSET, 1, 0, CLONE_THREAD), (_RET, 0, 0, refuse(_EPERM)),
                (_RET, 0, 0, _RET_ALLOW),
                (_LD_W_ABS, 0, 0, 0)]
    program += _only_if(numbers["kill"], _ARG0, (0, pid), refuse(_EPERM))
    program += _only_if(numbers["tgkill"], _ARG0, (pid,), refuse(_EPERM))
    program += _only_if(numbers["prlimit64"], _ARG0, (0, pid), refuse(_EPERM))
    program += _only_if(numbers["sched_setaffinity"], _ARG0, (0, pid), refuse(_EPERM))
    if cuda:
        program += _nvidia_ioctls(numbers["ioctl"], refuse(_ENOTTY))
        program += _no_shared_anonymous(numbers["mmap"], refuse(_EPERM))
    else:
        program += _only_if(numbers["ioctl"], _ARG1, IOCTLS, refuse(_ENOTTY))
    program += _only_if(numbers["fcntl"], _ARG1, FCNTLS, refuse(_EPERM))
    for name in ALLOWED:
        if name in numbers:
            program += [(_JEQ, 0, 1, numbers[name]), (_RET, 0, 0, _RET_ALLOW)]
    program.append((_RET, 0, 0, refuse(_EPERM)))
    return program


def restrict_syscalls(*, cuda: bool = False, log_refused: bool = False) -> bool:
    """Install the filter for this thread and every thread it starts; False where unsupported.

    Needs no_new_privs (set by :func:`~grader.sandbox.child.privileges.drop_privileges`).
    """
    program = syscall_filter(os.uname().machine, cuda=cuda, log_refused=log_refused)
    if program is None:
        return False
    filters = (_SockFilter * len(program))(*(_SockFilter(*insn) for insn in program))
    fprog = _SockFprog(len(program), filters)
    check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")
    return True
