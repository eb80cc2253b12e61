"""The C library, for the system calls Python's standard library does not wrap (mount, unshare, prctl, ...).

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.
"""

from __future__ import annotations

import ctypes
import os

LIBC = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    """Raise OSError (with errno's text) unless a C call returned 0."""
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
