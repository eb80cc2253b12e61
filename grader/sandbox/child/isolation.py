"""Isolation applied inside the sandboxed child, before the submission is loaded.

Untrusted side (see :mod:`grader.sandbox.child`): it imports only the standard
library and the ``grader`` package's marker (to find the project it must hide). ``enter`` applies the level named in the child's config and
returns the name of the level it reached, which the grader reports.

Levels, weakest first:

``rlimits``     resource limits (address space, CPU time, file size, open files,
                no core dumps), a private scratch working directory, its own session
                and process group (killed whole by the grader), no capabilities
                (a child started by root cannot lift its limits, and no execve gives
                any back: empty bounding set, no_new_privs), and a seccomp filter:
                no new processes (threads are fine), no programs, no sockets, no
                namespaces.
``namespaces``  all of the above, plus new PID, network and mount namespaces:
                the submission runs as PID 1 of its own PID namespace, so every
                process it starts (double-forked, setsid or not) dies with it; it
                has no network; ``/proc`` shows only its own processes; the project,
                the grader's packages (wherever installed), the grader's working
                directory and the folders of the submissions are hidden under empty
                tmpfs mounts, with only the interpreter's folders and the scratch
                directory mounted back where they lie inside one. The submission is
                copied into the scratch directory first and loaded from there. A
                child of root then runs as ``nobody`` (when the interpreter stays
                reachable to other users), with the grader's home hidden too.

SECURITY.md says what each level defends against and what it does not.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import grader
from grader import wire
from grader.sandbox.child.libc import LIBC, check
from grader.sandbox.child.privileges import drop_privileges
from grader.sandbox.child.seccomp import restrict_syscalls

# The grader's own package, found from the package itself (not by counting folders up from
# this file): the project checkout it sits in, or the site-packages it was installed into.
GRADER_PACKAGE = Path(grader.__file__).resolve().parent

LEVEL_RLIMITS, LEVEL_NAMESPACES = wire.LEVEL_RLIMITS, wire.LEVEL_NAMESPACES

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1

class NamespacesUnavailable(OSError):
    """This machine (or this user) cannot create the namespaces."""


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_rlimits(limits: dict[str, Any]) -> None:
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_AS, int(limits["memory_mib"]) << 20)
    _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mib"]) << 20)
    _limit(resource.RLIMIT_NOFILE, 256)


def _unshare() -> None:
    check(LIBC.unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS), "unshare")


# Folders never hidden, even when the grader runs from one of them: the system itself.
_SYSTEM = frozenset(Path(p) for p in ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64",
                                      "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"))


def _kept(config: dict[str, Any]) -> list[Path]:
    """Folders the child still needs: the interpreter, its libraries, its scratch directory."""
    keep = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(config["scratch"])}
    keep.update(Path(p) for p in sys.path if p and Path(p).is_absolute() and "site-packages" in p)
    return sorted({p.resolve() for p in keep if p.exists()})


def _trusted_packages() -> list[Path]:
    """Where the grader's own packages live, wherever they are installed (site-packages too)."""
    import importlib.util

    folders = [GRADER_PACKAGE]
    try:
        spec = importlib.util.find_spec("attention_reference")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        folders.extend(Path(p).resolve() for p in spec.submodule_search_locations)
    return folders


def _hidden(config: dict[str, Any]) -> list[Path]:
    """Folders to cover: the project, the grader's packages, cwd and home, the submission's folder(s).

    A hidden folder may hold something the child needs (the README's ``.venv``
    inside the project, the scratch directory under a hidden cwd); those are
    mounted back over the empty tmpfs (see :func:`_hide`), not left visible
    by sparing the whole folder.
    """
    submission = Path(config["submission"]).resolve()
    candidates = [GRADER_PACKAGE.parent, Path.cwd().resolve(), submission.parent,
                  *_trusted_packages(), Path.home().resolve()]
    if submission.name == "solution.py":
        candidates.append(submission.parent.parent)  # <class>/<student>/solution.py: the whole class
    kept = _kept(config)
    hidden: list[Path] = []
    for folder in sorted(set(candidates), key=lambda f: len(f.parts)):
        if folder in _SYSTEM or folder in kept or _covered(folder, hidden, kept):
            continue
        hidden.append(folder)
    return hidden


def _covered(folder: Path, hidden: list[Path], kept: list[Path]) -> bool:
    """Whether ``folder`` is already out of sight: under a hidden folder, not under one mounted back."""
    for outer in hidden:
        if folder.is_relative_to(outer):
            return not any(folder.is_relative_to(k) and k.is_relative_to(outer) for k in kept)
    return False


def _hide(folder: Path, kept: list[Path]) -> None:
    """Cover ``folder`` with an empty read-only tmpfs, then mount back what the child needs under it.

    Each kept folder is held open (``O_PATH``) before the tmpfs goes on, and bound
    back from ``/proc/self/fd`` after, so nothing else of the hidden folder shows.
    """
    inside = [k for k in kept if k != folder and k.is_relative_to(folder)]
    outermost = [k for k in inside if not any(k != o and k.is_relative_to(o) for o in inside)]
    handles = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in outermost}
    try:
        check(LIBC.mount(b"tmpfs", str(folder).encode(), b"tmpfs", 0, b"size=64k,mode=0555"),
               f"hide {folder}")
        for path, fd in handles.items():
            path.mkdir(parents=True, exist_ok=True)  # in the new tmpfs (root ignores its 0555)
            check(LIBC.mount(f"/proc/self/fd/{fd}".encode(), str(path).encode(), None, MS_BIND | MS_REC, None),
                   f"mount {path} back")
    finally:
        for fd in handles.values():
            os.close(fd)


def _enter_namespaces(config: dict[str, Any]) -> None:
    """Move the rest of this child into new PID, network and mount namespaces.

    ``unshare(CLONE_NEWPID)`` applies to the caller's children, so we fork once
    more: the new process is PID 1 of the namespace and goes on to serve; this
    process waits and exits the way it did (same signal or status), so the
    grader sees the submission's fate. Both share the process group the grader
    kills; PID 1 dying takes every process of the namespace with it.
    """
    scratch = Path(config["scratch"])
    copy = scratch / "solution.py"
    shutil.copyfile(config["submission"], copy)
    hidden = _hidden(config)
    try:
        _unshare()
    except OSError as error:
        raise NamespacesUnavailable(str(error)) from None
    config["submission"] = str(copy)
    pid = os.fork()
    if pid:
        _relay_exit(pid)
    check(LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    check(LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    check(LIBC.mount(b"proc", b"/proc", b"proc", 0, None), "mount /proc")
    kept = _kept(config)
    for folder in hidden:
        _hide(folder, kept)


def _relay_exit(pid: int) -> None:  # pragma: no cover (runs in the in-between process)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def enter(config: dict[str, Any]) -> str:
    """Apply isolation in this (child) process; return the level reached."""
    requested = config.get("isolation", "best")
    level = LEVEL_RLIMITS
    if requested in ("best", LEVEL_NAMESPACES):
        try:
            _enter_namespaces(config)
            level = LEVEL_NAMESPACES
        except NamespacesUnavailable:
            if requested == LEVEL_NAMESPACES:
                raise
    scratch = config["scratch"]
    os.chdir(scratch)
    os.environ["HOME"] = scratch
    os.environ["TMPDIR"] = scratch
    apply_rlimits(config["limits"])
    become = UNPRIVILEGED if level == LEVEL_NAMESPACES and os.geteuid() == 0 and _python_reachable() else None
    drop_privileges(become=become)
    if become is not None:  # a change of credentials clears the parent-death signal: set it again
        check(LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    restrict_syscalls()
    return level


UNPRIVILEGED = 65534  # the uid and gid of "nobody"


def _python_reachable() -> bool:
    """Whether a user other than root can still read the interpreter and its libraries (as the
    hiding mounts left them): every folder on the way needs others' execute bit."""
    for folder in {Path(p) for p in sys.path if p and Path(p).is_absolute() and Path(p).is_dir()}:
        try:
            here = Path("/")
            for part in folder.resolve().parts[1:]:
                here = here / part
                if not os.stat(here).st_mode & 0o001:
                    return False
            if not os.stat(folder).st_mode & 0o004:
                return False
        except OSError:
            return False
    return True
