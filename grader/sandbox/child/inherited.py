"""Leaving nothing of the grader's in the child: descriptors, streams, multiprocessing state.

Untrusted side (see :mod:`grader.sandbox.child`); standard library only.

A child forked from the forkserver holds what the forkserver held: the write ends of the
grader's resource-tracker pipe (the tracker is a process outside every namespace that
unlinks what it is told to and prints to the grader's terminal) and of the forkserver's
"alive" pipe, the grader's terminal as standard input, and the forkserver's address.
:func:`keep_only` closes every descriptor but the child's own two and forgets that state.
"""

from __future__ import annotations

import os
import sys


def open_descriptors() -> list[int]:
    """The descriptors this process holds (read from /proc, else probed)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(1024))
    found = []
    for fd in fds:
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return sorted(found)


def keep_only(conn, out_conn) -> None:
    """Make 0 /dev/null and 1, 2 the output pipe; close every other descriptor but ``conn``'s."""
    keep = conn.fileno()
    out = out_conn.fileno()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    out_conn.close()   # through the object, so that nothing closes that number again later
    for fd in open_descriptors():
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.set_inheritable(keep, False)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
    _forget_multiprocessing()


def not_dumpable() -> None:
    """No process of the same user may read this one's memory, environment or descriptors."""
    from grader.sandbox.child.libc import LIBC

    LIBC.prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE


def _forget_multiprocessing() -> None:
    """Drop the multiprocessing state that names the grader's helpers (the descriptors are closed)."""
    from multiprocessing import forkserver, process, resource_tracker

    tracker = resource_tracker._resource_tracker
    tracker._fd, tracker._pid = None, None
    server = forkserver._forkserver
    server._forkserver_address = None
    server._forkserver_alive_fd = None
    server._forkserver_pid = None
    server._inherited_fds = None
    process._parent_process = None
    current = process.current_process()
    current._config["authkey"] = process.AuthenticationString(os.urandom(32))
