"""Isolation applied inside the sandboxed child, before the submission is loaded.

Runs on the untrusted side (imported by ``grader.child``), so it imports only the
standard library. ``enter`` applies the level named in the child's config and
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

import ctypes
import os
import resource
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

LEVEL_RLIMITS = "rlimits"
LEVEL_NAMESPACES = "namespaces"

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1

_LIBC = ctypes.CDLL(None, use_errno=True)


class NamespacesUnavailable(OSError):
    """This machine (or this user) cannot create the namespaces."""

_available: str | None = None


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


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _unshare() -> None:
    _check(_LIBC.unshare(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS), "unshare")


def strongest_available() -> str:
    """The strongest level this machine can give a child (probed once, in a throwaway process)."""
    global _available
    if _available is None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            try:
                _unshare()
                os._exit(0)
            except OSError:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        _available = LEVEL_NAMESPACES if os.waitstatus_to_exitcode(status) == 0 else LEVEL_RLIMITS
    return _available


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

    folders = [Path(__file__).resolve().parent]
    try:
        spec = importlib.util.find_spec("reference")
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
    candidates = [Path(__file__).resolve().parents[1], Path.cwd().resolve(), submission.parent,
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
        _check(_LIBC.mount(b"tmpfs", str(folder).encode(), b"tmpfs", 0, b"size=64k,mode=0555"),
               f"hide {folder}")
        for path, fd in handles.items():
            path.mkdir(parents=True, exist_ok=True)  # in the new tmpfs (root ignores its 0555)
            _check(_LIBC.mount(f"/proc/self/fd/{fd}".encode(), str(path).encode(), None, MS_BIND | MS_REC, None),
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
    _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    _check(_LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_LIBC.mount(b"proc", b"/proc", b"proc", 0, None), "mount /proc")
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
        _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
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


# -- privileges ---------------------------------------------------------------------

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
        if _LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last
            break
    _LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if become is not None:  # root's files (outside the hidden folders) become read-only, or unreadable
        os.setgroups([])
        os.setresgid(become, become, become)
        os.setresuid(become, become, become)
    _check(_LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_LIBC.capset(ctypes.byref(header), data), "capset")
    if _capabilities_now() != 0:
        raise OSError("capabilities are still held after dropping them")
    return had


def _capabilities_now() -> int:
    """The effective capability mask of this thread (0 when none)."""
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_LIBC.capget(ctypes.byref(header), data), "capget")
    return data[0].effective | data[1].effective << 32


# -- system calls -------------------------------------------------------------------

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
    _check(_LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")
    return True
