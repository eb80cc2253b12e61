"""The sandboxed child's system-call filter (seccomp BPF, written with ctypes).

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.
"""

from __future__ import annotations

import ctypes
import os

from grader.sandbox.child.libc import LIBC, check

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000
_EPERM, _ENOSYS = 1, 38
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_X32_SYSCALL_BIT = 0x40000000

# Per architecture: its audit id, and the calls a submission is refused (number, errno).
# Starting programs, creating processes (threads are fine: clone with CLONE_THREAD),
# opening sockets (a Unix socket such as /var/run/docker.sock is a way out even without
# a network) and entering or making namespaces. clone3 answers ENOSYS, so the C library
# falls back to clone, whose flags the filter can read.
_SYSCALLS = {
    "x86_64": (0xC000003E, {"socket": 41, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
                            "unshare": 272, "setns": 308, "clone3": 435}, 56),
    "aarch64": (0xC00000B7, {"socket": 198, "execve": 221, "execveat": 281, "unshare": 97, "setns": 268,
                             "clone3": 435}, 220),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def syscall_filter(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The seccomp BPF program (code, jt, jf, k) for ``machine``, or None where unknown."""
    if machine not in _SYSCALLS:
        return None
    arch, refused, clone = _SYSCALLS[machine]
    program = [(_LD_W_ABS, 0, 0, 4),                     # seccomp_data.arch
               (_JEQ, 1, 0, arch), (_RET, 0, 0, _RET_ERRNO | _EPERM),   # another ABI (int 0x80): refused
               (_LD_W_ABS, 0, 0, 0)]                     # seccomp_data.nr
    if machine == "x86_64":
        program += [(_JGE, 0, 1, _X32_SYSCALL_BIT), (_RET, 0, 0, _RET_ERRNO | _EPERM)]
    for name, number in refused.items():
        errno = _ENOSYS if name == "clone3" else _EPERM
        program += [(_JEQ, 0, 1, number), (_RET, 0, 0, _RET_ERRNO | errno)]
    program += [(_JEQ, 0, 3, clone),
                (_LD_W_ABS, 0, 0, 16),                   # the low half of args[0]: the clone flags
                (_JSET, 1, 0, CLONE_THREAD), (_RET, 0, 0, _RET_ERRNO | _EPERM),
                (_RET, 0, 0, _RET_ALLOW)]
    return program


def restrict_syscalls() -> bool:
    """Install the filter for this thread and every thread it starts; False where unsupported.

    Needs no_new_privs (set by :func:`drop_privileges`). After it, the submission gets
    EPERM from fork, execve, socket, unshare and setns: no fork storm, no programs, no
    sockets, while threads (torch's among them) start as usual.
    """
    program = syscall_filter(os.uname().machine)
    if program is None:
        return False
    filters = (_SockFilter * len(program))(*(_SockFilter(*insn) for insn in program))
    fprog = _SockFprog(len(program), filters)
    check(LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")
    return True
