"""Which isolation level this machine can give a child, found out from the grader's side.

The grader never imports the child side (:mod:`grader.sandbox.child`); this probe asks
the kernel directly, in a throwaway process, for what the ``namespaces`` level needs: new
mount, PID, network and IPC namespaces (and for an ordinary user a user namespace with its
user mapped into it), and a tmpfs mounted there. The grader
decides the level from this answer and tells the child which to enter: a child never
chooses its own level, and never reports one that is believed.
"""

from __future__ import annotations

import ctypes
import functools
import os

from grader import wire

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_LANDLOCK_CREATE_RULESET = 444


def _try_namespaces() -> bool:  # pragma: no cover (runs in the throwaway process)
    libc = ctypes.CDLL(None, use_errno=True)
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | (0 if root else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        return False
    if not root:
        libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: the maps are root's otherwise
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    if libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) != 0:  # MS_REC | MS_PRIVATE
        return False
    target = b"/tmp" if os.path.isdir("/tmp") else b"/mnt"
    return libc.mount(b"tmpfs", target, b"tmpfs", 0, b"size=4k") == 0


@functools.cache
def strongest_available() -> str:
    """The strongest level this machine can give a child (probed once, in a throwaway process)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        try:
            os._exit(0 if _try_namespaces() else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return wire.LEVEL_NAMESPACES if os.waitstatus_to_exitcode(status) == 0 else wire.LEVEL_RLIMITS


def resolve(requested: str) -> str:
    """The level a child is told to enter: ``best`` becomes the strongest available."""
    if requested == "best":
        return strongest_available()
    if requested not in wire.LEVELS:
        raise ValueError(f"unknown isolation level {requested!r}; known: best, {', '.join(wire.LEVELS)}")
    return requested


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none): what keeps an ``rlimits`` child to its files."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return max(0, libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except (OSError, AttributeError):  # pragma: no cover
        return 0
