"""The warm parent that sandboxed children are forked from.

A ``multiprocessing`` forkserver that preloads the child's server
(:mod:`grader.sandbox.child.server`, and with it torch) but never computes in parallel, so a child costs a fork, not a torch
import. This module imports no torch itself: the command line starts the
forkserver first, and it imports torch while the grader imports its own.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import types

CONTEXT = multiprocessing.get_context("forkserver")
CHILD_ENTRY = "grader.sandbox.child.server"
CONTEXT.set_forkserver_preload([CHILD_ENTRY])
_START_LOCK = threading.Lock()
# The forkserver (and so every child, and every batch worker) starts with an empty environment:
# nothing of the grader's, no token, no HOME. A child builds its own (isolation.enter); a batch
# worker needs none (temporary files go to /tmp, the user's cache is never read there).


_SERVER = multiprocessing.forkserver._forkserver
_ensure_running = _SERVER.ensure_running


def _ensure_running_clean() -> None:
    """Start the forkserver (and the resource tracker) with an empty environment, then give
    the grader its own back. Children are forked from the forkserver, so its initial
    environment, which /proc/<pid>/environ shows, is all a child could ever read."""
    with _ENV_LOCK:
        saved = dict(os.environ)
        os.environ.clear()
        try:
            _ensure_running()
            if _SERVER._forkserver_pid is not None:
                _OWNER.setdefault(_SERVER._forkserver_pid, os.getpid())
        finally:
            os.environ.clear()
            os.environ.update(saved)


_ENV_LOCK = threading.RLock()
_SERVER.ensure_running = _ensure_running_clean   # also what multiprocessing calls before each fork


@contextlib.contextmanager
def without_main_module():
    """Hide ``__main__`` while multiprocessing prepares a child.

    Otherwise every child re-imports the grader's main script (``grade``, pytest,
    a user's script) before running: slow, and for an unguarded script, wrong.
    Children run only the child's server, which needs nothing from ``__main__``.
    """
    with _START_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def run_child(*args) -> None:
    """Target of every sandboxed child: hands over to the child's server.

    Named here, not as the server's ``main`` itself, so that the grader never
    imports the child side: it is the untrusted side's, and importing it warms up
    torch's dispatch machinery (about a second) that only the forkserver needs.
    In the forkserver it is already loaded, so this import is free.
    """
    import importlib

    importlib.import_module(CHILD_ENTRY).main(*args)


def warm_up() -> None:
    """Start the forkserver now; it imports torch in the background."""
    with without_main_module():
        _ensure_running_clean()


def stop() -> None:
    """End the forkserver at once, if this process started it.

    Left alone, it ends when it sees this process go, and then tears down its interpreter and
    torch (most of a second, while it still holds the grader's stdout and stderr, so a pipe
    reading the grader's output stays open that long). It has nothing to save: every child it
    forked is ended by its grader. Called again, or when none runs, it does nothing.
    """
    with _ENV_LOCK:
        pid = _SERVER._forkserver_pid
        if pid is None or _OWNER.get(pid) != os.getpid():
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _SERVER._stop()   # closes its pipe, reaps it, forgets its address


_OWNER: dict[int, int] = {}   # forkserver pid -> the pid of the process that started it
atexit.register(stop)
