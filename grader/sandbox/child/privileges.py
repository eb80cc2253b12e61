"""Giving up privileges in the sandboxed child: capabilities, root's uid, no_new_privs.

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.
"""

from __future__ import annotations

import ctypes
import os

from grader.sandbox.child.libc import LIBC, check

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges(*, become: int | None = None) -> bool:
    """Give up every capability for good (and with ``become``, root's uid and gids too);
    return whether the child had any capabilities to give up.

    A submission run by root keeps root's capabilities otherwise: CAP_SYS_ADMIN would
    let it unmount the tmpfs that hides the project (its mount namespace is its own),
    CAP_SYS_RESOURCE lift its resource limits, CAP_SYS_PTRACE inspect other processes.
    The bounding set is emptied first, so no later execve (of a setuid binary, or as
    uid 0) can bring any back, and no_new_privs is set. Runs while the child has one
    thread: capabilities are per thread, and later threads inherit these.
    """
    had = _capabilities_now() != 0
    for cap in range(64):
        if LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last
            break
    LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if become is not None:  # root's files (outside the hidden folders) become read-only, or unreadable
        os.setgroups([])
        os.setresgid(become, become, become)
        os.setresuid(become, become, become)
    check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    check(LIBC.capset(ctypes.byref(header), data), "capset")
    if _capabilities_now() != 0:
        raise OSError("capabilities are still held after dropping them")
    return had


def _capabilities_now() -> int:
    """The effective capability mask of this thread (0 when none)."""
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    check(LIBC.capget(ctypes.byref(header), data), "capget")
    return data[0].effective | data[1].effective << 32
