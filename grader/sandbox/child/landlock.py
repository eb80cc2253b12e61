"""Landlock, for the child that has no namespaces: an allow-list of the files it may touch.

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.

The child may read (and map) the interpreter's folders, read and write its own scratch
and a few device nodes, read its own ``/proc/<pid>``, and nothing else: not the
reference wherever a copy lies, not the results folder, not a classmate's scratch of
the same user. Where the kernel's Landlock is new enough (ABI 6) the child also cannot
signal processes outside its domain nor reach abstract Unix sockets, and (ABI 4) it can
neither bind nor connect TCP ports. A kernel without Landlock leaves the child as it
was: :func:`restrict` says whether it applied.
"""

from __future__ import annotations

import ctypes
import os

from grader.sandbox.child.libc import LIBC

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446   # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
IOCTL_DEV = 1 << 15   # ABI 5: ioctl on device files (the GPU driver's only interface)
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)   # + TRUNCATE, IOCTL_DEV
READ_ONLY = EXECUTE | READ_FILE | READ_DIR


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    version = LIBC.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, version)


def restrict(readable: list[str], writable: list[str], *, devices: list[str] = (), gpu_nodes: list[str] = ()) -> bool:
    """Allow only these paths from now on (this thread and every one it starts); needs no_new_privs.

    ``devices`` may be read and written; ``gpu_nodes`` (the NVIDIA nodes, with CUDA) also take ioctls.
    """
    version = abi()
    if version < 1:
        return False
    handled = _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= version)]
    attr = _Ruleset(handled, 0b11 if version >= 4 else 0, 0b11 if version >= 6 else 0)
    size = ctypes.sizeof(_Ruleset) if version >= 6 else (16 if version >= 4 else 8)
    ruleset = LIBC.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        rules = [(p, READ_ONLY) for p in readable] + [(p, handled) for p in writable]
        rules += [(d, READ_FILE | WRITE_FILE) for d in devices]
        rules += [(d, READ_FILE | WRITE_FILE | IOCTL_DEV) for d in gpu_nodes]
        rules.append((f"/proc/{os.getpid()}", READ_FILE | READ_DIR))
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(f"/proc/self/fd/{fd}"):
                    access &= _FILE_RIGHTS
                rule = _PathBeneath(access & handled, fd)
                if LIBC.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)):
                    raise OSError(ctypes.get_errno(), f"landlock rule for {path}")
            finally:
                os.close(fd)
        if LIBC.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return True
