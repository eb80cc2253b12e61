"""Isolation applied inside the sandboxed child, before the submission is loaded.

Untrusted side (see :mod:`grader.sandbox.child`): it imports only the standard
library, the ``grader`` package's marker (to find the project it must keep out of
sight) and the wire. ``enter`` applies the level the grader chose and returns it.

Both levels start the same way (:mod:`grader.sandbox.child.inherited`: nothing of the
grader's descriptors, environment or multiprocessing state is left), and end the same
way: resource limits, no capabilities (empty bounding set, no_new_privs), and the
system-call allow-list (:mod:`grader.sandbox.child.seccomp`).

``namespaces``  new user, mount, PID, network and IPC namespaces (an ordinary user gets
                them too; a root grader's child first becomes ``nobody``). The child's
                root is an empty tmpfs (``pivot_root``) holding only what the interpreter
                needs, read-only (``/usr``, the interpreter's prefixes and site-packages,
                ``/etc/ld.so.cache``, five device nodes, its own ``/proc``), with the
                grader's own packages covered inside them, and a private tmpfs bounded in
                size and in files that is its scratch, ``/tmp``, ``/var/tmp`` and
                ``/dev/shm`` at once. Nothing of the host's files, processes, network,
                System V IPC or abstract sockets is visible, and everything it stored
                vanishes with it. The submission runs as PID 1 of its namespace: every
                process it could start dies with it.
``rlimits``     no namespaces. A root grader's child runs as a user of its own (a uid
                from a range no account uses, one per child), in a scratch folder only it
                may open; an ordinary grader's child stays the grader's user, kept to its
                scratch and read-only system folders by Landlock where the kernel has it.

With CUDA (``config["cuda"]``, the same at both levels): the NVIDIA device nodes
(:func:`nvidia_nodes`: ``nvidiactl``, ``nvidiaN``, ``nvidia-uvm``, MIG's ``nvidia-caps``; never
``nvidia-uvm-tools``, which reads other processes' GPU memory, nor ``nvidia-modeset``), the
folders of the driver libraries the grader itself loaded, and the read-only parts of
``/sys`` the driver reads (:data:`SYS_FOLDERS`) are added to what the child sees; host memory
is bounded by ``RLIMIT_DATA`` instead of ``RLIMIT_AS`` (the driver reserves address space
the size of the GPU's memory and more); the system-call filter also lets through the
driver's ioctls (:mod:`grader.sandbox.child.seccomp`). The child initialises CUDA itself,
after all of this (:mod:`grader.sandbox.child.cuda`).

SECURITY.md says what each level defends against and what it does not.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import sys
from pathlib import Path
from typing import Any

import grader
from grader import wire
from grader.sandbox.child import landlock
from grader.sandbox.child.libc import LIBC, check
from grader.sandbox.child.privileges import drop_privileges
from grader.sandbox.child.seccomp import restrict_syscalls

# The grader's own package, found from the package itself (not by counting folders up from
# this file): the project checkout it sits in, or the site-packages it was installed into.
GRADER_PACKAGE = Path(grader.__file__).resolve().parent

LEVEL_RLIMITS, LEVEL_NAMESPACES = wire.LEVEL_RLIMITS, wire.LEVEL_NAMESPACES
UNPRIVILEGED = wire.NOBODY            # a root grader's child at the namespaces level
CHILD_UID_BASE = wire.CHILD_UID_BASE  # a root grader's child at the rlimits level: this + its pid

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

# Where the child lives (paths inside its own root at the namespaces level).
SCRATCH = "/scratch"
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")
DEVICES = ("null", "zero", "full", "random", "urandom")
# With CUDA: the driver's control node, one node per GPU, unified memory, and MIG's capability
# nodes. Not nvidia-uvm-tools (profilers: it reads other processes' GPU memory), nvidia-modeset
# (displays) or nvidia-nvswitch* / nvidia-nvlink (fabric management).
NVIDIA_NODES = ("nvidiactl", "nvidia-uvm")
NVIDIA_GPU_NODE = re.compile(r"nvidia[0-9]+")
NVIDIA_CAPS = "nvidia-caps"
# Read-only with CUDA: CPU and NUMA topology, and the PCI devices (the GPUs' attributes), which the
# driver reads while it initialises. /proc/driver/nvidia comes with the child's own /proc.
SYS_FOLDERS = ("/sys/devices/system", "/sys/bus/pci/devices", "/sys/module/nvidia")
SYS_PCI = "/sys/devices"
PROC_DRIVER = "/proc/driver/nvidia"   # where /sys/bus/pci/devices/* point: the pci* trees under it are bound too
SYSTEM_FILES = ("/etc/ld.so.cache",)
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
NEW_ROOT = "/tmp"   # where the new root is built (in the child's own mount namespace)


class NamespacesUnavailable(OSError):
    """This machine (or this user) cannot create the namespaces."""


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_rlimits(limits: dict[str, Any], *, cuda: bool = False) -> None:
    """Core dumps off; memory, CPU time, file size and descriptors bounded.

    Memory is the address space (``RLIMIT_AS``), or with CUDA the private writable memory
    (``RLIMIT_DATA``: the heap and every tensor on the host), because the CUDA driver reserves
    address space the size of the GPU's memory; shared anonymous mappings, which ``RLIMIT_DATA``
    does not count, are refused by the system-call filter then.
    """
    _limit(resource.RLIMIT_CORE, 0)
    # What the forkserver's warm-up mapped (recorder._warm_up) is added back: the submission keeps
    # the headroom it had before the warm-up (each thread it starts reserves tens of MiB).
    extra = max(0, int(limits.get("warm_up_bytes", 0)))
    _limit(resource.RLIMIT_DATA if cuda else resource.RLIMIT_AS, (int(limits["memory_mib"]) << 20) + extra)
    _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mib"]) << 20)
    _limit(resource.RLIMIT_NOFILE, 256)


def scratch_options(limits: dict[str, Any]) -> tuple[int, int]:
    """(bytes, files) the private tmpfs holds: twice the largest file, at most 2048 files."""
    return max(16, 2 * int(limits["file_mib"])) << 20, 2048


# -- what the child may see ----------------------------------------------------------

def interpreter_folders() -> list[Path]:
    """The folders the interpreter imports from (prefixes, the standard library, site-packages)."""
    keep = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix)}
    keep.update(Path(p) for p in sys.path if p and Path(p).is_absolute()
                and ("site-packages" in p or "/lib/python" in p or p.endswith(".zip")))
    return sorted(p for p in keep if p.exists())


def _outermost(paths: list[Path]) -> list[Path]:
    return sorted({p for p in paths if not any(p != o and p.is_relative_to(o) for o in paths)})


def bound_folders() -> list[Path]:
    """Folders bound read-only into the child's root: /usr and the interpreter's, outermost only."""
    folders = [Path("/usr")] + interpreter_folders()
    for name in USR_LINKS:
        top = Path("/") / name
        if top.is_dir() and not top.is_symlink():
            folders.append(top)
    return _outermost([f for f in folders if f.is_dir()])


def nvidia_nodes(dev: str = "/dev") -> list[str]:
    """The NVIDIA device nodes under ``dev`` that a child on CUDA may open (absolute paths)."""
    try:
        names = sorted(os.listdir(dev))
    except OSError:
        return []
    nodes = [n for n in names if n in NVIDIA_NODES or NVIDIA_GPU_NODE.fullmatch(n)]
    found = [f"{dev}/{n}" for n in nodes]
    caps = f"{dev}/{NVIDIA_CAPS}"
    if os.path.isdir(caps):
        found += [f"{caps}/{n}" for n in sorted(os.listdir(caps)) if n.startswith("nvidia-cap")]
    return found


def sys_folders(sys_root: str = "/sys") -> list[Path]:
    """The read-only parts of /sys a child on CUDA sees: topology, the PCI devices and the trees
    their links point into."""
    folders = [Path(sys_root + f[len("/sys"):]) for f in SYS_FOLDERS]
    devices = Path(sys_root + SYS_PCI[len("/sys"):])
    if devices.is_dir():
        folders += [p for p in sorted(devices.iterdir()) if p.name.startswith("pci")]
    return [f for f in folders if f.is_dir()]


def driver_folders(libraries: list[str] | tuple[str, ...]) -> list[Path]:
    """The folders of the driver libraries the grader loaded (``config["cuda"]["libraries"]``)."""
    return sorted({Path(p).parent for p in libraries if Path(p).is_absolute() and Path(p).is_file()})


def cuda_plan(config: dict[str, Any]) -> dict[str, list]:
    """What a child on CUDA sees besides the usual: device nodes, read-only folders (empty without CUDA)."""
    settings = config.get("cuda")
    if not settings:
        return {"nodes": [], "folders": []}
    return {"nodes": nvidia_nodes(), "folders": driver_folders(settings.get("libraries", ())) + sys_folders()}


def _trusted_packages() -> list[Path]:
    """Where the grader's own packages live, wherever they are installed (site-packages too)."""
    import importlib.util

    folders = [GRADER_PACKAGE, GRADER_PACKAGE.parent / "attention_reference", GRADER_PACKAGE.parent / "exercises",
               GRADER_PACKAGE.parent / "tests"]
    for name in ("attention_reference", "exercises", "tests"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(p).resolve() for p in spec.submodule_search_locations)
    return folders


def covered(config: dict[str, Any], bound: list[Path]) -> list[Path]:
    """Folders inside the bound ones that are covered with an empty tmpfs: the grader's packages
    (an installed copy of the reference inside site-packages), the project, the grader's working
    directory and the class folder, wherever one lies inside a bound folder."""
    candidates = [*_trusted_packages(), GRADER_PACKAGE.parent, Path.cwd()]
    candidates += [Path(p) for p in config.get("private_folders", ())]
    hidden = []
    for folder in {c.resolve() for c in candidates if c.exists()}:
        inside = [b for b in bound if folder.is_relative_to(b)]
        if inside and folder not in bound and not any(b.is_relative_to(folder) for b in bound):
            hidden.append(folder)
    return _outermost(hidden)


# -- the namespaces level ---------------------------------------------------------------

def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mount(source, target, fstype, flags, data, what: str) -> None:
    enc = (lambda v: v.encode() if isinstance(v, str) else v)
    check(LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), what)


def _readonly_flags(path: str) -> int:
    """The flags a read-only remount of ``path`` must keep (a user namespace may not clear them)."""
    f = os.statvfs(path).f_flag
    flags = MS_RDONLY
    for st, ms in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                   (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME)):
        if f & st:
            flags |= ms
    return flags


def _bind(fd: int, target: str, *, readonly: bool = True) -> None:
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC, None, f"bind {target}")
    if readonly:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _readonly_flags(target), None,
               f"remount {target} read-only")


def _unshare(root: bool) -> None:
    """New mount, PID, network and IPC namespaces, and for an ordinary user a user namespace
    (root needs none to mount, and becomes ``nobody`` once the new root is built)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | (0 if root else CLONE_NEWUSER)
    if LIBC.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise NamespacesUnavailable(errno, f"unshare: {os.strerror(errno)}")
    if root:
        return
    LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)   # /proc/self/*_map are root's while not dumpable
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    finally:
        LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _enter_namespaces(config: dict[str, Any]) -> int | None:
    """Move the rest of this child into its own namespaces and its own root; return the uid to
    become (root's child: ``nobody``, when the interpreter's folders are open to others).

    ``unshare(CLONE_NEWPID)`` applies to the caller's children, so we fork once more:
    the new process is PID 1 of the namespace and goes on to serve; this process waits
    and exits the way it did (same signal or status), so the grader sees the
    submission's fate. Both share the process group the grader kills; PID 1 dying takes
    every process of the namespace with it.
    """
    root = os.geteuid() == 0
    plan = cuda_plan(config)
    bound = _outermost(bound_folders() + plan["folders"])
    hidden = covered(config, bound)
    become = UNPRIVILEGED if root and _open_to_others(bound) else None
    _unshare(root)
    pid = os.fork()
    if pid:
        _relay_exit(pid)
    check(LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    _build_root(config, bound, hidden, owner=become, nodes=plan["nodes"])
    return become


def _open_to_others(folders: list[Path]) -> bool:
    """Whether a user other than root may read these folders (their own modes; the folders above
    them are the new root's own)."""
    return all(os.stat(f).st_mode & 0o005 == 0o005 for f in folders)


def _build_root(config, bound: list[Path], hidden: list[Path], *, owner: int | None, nodes=()) -> None:
    """Build the child's root in an empty tmpfs and pivot into it (PID 1 of the new namespaces).

    ``nodes``: more device nodes to bind (the NVIDIA ones, with CUDA)."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None, "mount --make-rprivate /")
    sources = {str(p): os.open(p, os.O_PATH | os.O_DIRECTORY) for p in bound}
    files = {p: os.open(p, os.O_PATH) for p in SYSTEM_FILES if os.path.isfile(p)}
    devices = {f"/dev/{d}": os.open(f"/dev/{d}", os.O_PATH) for d in DEVICES if os.path.exists(f"/dev/{d}")}
    devices.update({node: os.open(node, os.O_PATH) for node in nodes})
    links = {name: os.readlink(f"/{name}") for name in USR_LINKS if os.path.islink(f"/{name}")}
    try:
        _populate(config, sources, files, devices, links, hidden, owner)
    finally:
        for fd in (*sources.values(), *files.values(), *devices.values()):
            os.close(fd)
    _pivot()


def _populate(config, sources, files, devices, links, hidden, owner) -> None:
    new = NEW_ROOT
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,nr_inodes=1024,mode=0755", "mount the root")
    for folder in sources:
        os.makedirs(new + folder, exist_ok=True)
    for name, target in links.items():
        os.symlink(target, f"{new}/{name}")
    for folder in ("/etc", "/dev", "/proc", "/var", SCRATCH, *PRIVATE, "/.box", "/.old"):
        os.makedirs(new + folder, exist_ok=True)
    for path in (*files, *devices):
        os.makedirs(os.path.dirname(new + path), exist_ok=True)
        open(new + path, "w").close()
    for folder, fd in sources.items():
        _bind(fd, new + folder)
    for folder in hidden:   # inside a bound folder: an empty read-only tmpfs over it
        _mount("tmpfs", new + str(folder), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
               "size=4k,nr_inodes=16,mode=0555", f"cover {folder}")
    for path, fd in files.items():
        _bind(fd, new + path)
    for path, fd in devices.items():
        _bind(fd, new + path, readonly=False)
    size, inodes = scratch_options(config["limits"])
    box = new + "/.box"
    _mount("tmpfs", box, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},nr_inodes={inodes},mode=0700",
           "mount the scratch")
    for place in (SCRATCH, *PRIVATE):   # one budget for all four places
        inside = f"{box}/{place.strip('/').replace('/', '-')}"
        mode = 0o700 if place == SCRATCH else 0o1777
        os.mkdir(inside, mode)
        os.chmod(inside, mode)
        if owner is not None:
            os.chown(inside, owner, owner)
        _mount(inside, new + place, None, MS_BIND, None, f"bind {place}")
    check(LIBC.umount2(box.encode(), MNT_DETACH), "umount the scratch's staging point")
    _bind_again_inside_private_places(sources, hidden)
    try:
        _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, "mount /proc")
    except OSError:
        pass  # where /proc is partly covered (some containers) the child goes without one


def _bind_again_inside_private_places(sources, hidden) -> None:
    """A bound folder inside a private place (a venv under /tmp) was covered by that place's
    private tmpfs: bind it again, and cover again what is hidden inside it."""
    new = NEW_ROOT
    under = [(folder, fd) for folder, fd in sources.items() if any(_inside(folder, place) for place in PRIVATE)]
    for folder, fd in under:
        os.makedirs(new + folder, exist_ok=True)
        _bind(fd, new + folder)
    for folder in hidden:
        if any(_inside(str(folder), bound) for bound, _ in under):
            _mount("tmpfs", new + str(folder), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "size=4k,nr_inodes=16,mode=0555", f"cover {folder}")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _pivot() -> None:
    os.chdir(NEW_ROOT)
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise NamespacesUnavailable("no pivot_root for this machine")
    check(LIBC.syscall(number, b".", b".old"), "pivot_root")
    os.chdir("/")
    check(LIBC.umount2(b"/.old", MNT_DETACH), "umount the old root")
    os.rmdir("/.old")
    os.rmdir("/.box")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None, "remount / read-only")


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


# -- the rlimits level ----------------------------------------------------------------

def _enter_rlimits(config: dict[str, Any]) -> int | None:
    """Make the grader's scratch folder this child's alone; return the uid to become (root only)."""
    scratch = config["scratch"]
    become = None
    if os.geteuid() == 0 and _python_reachable():
        become = CHILD_UID_BASE + os.getpid()
        os.chown(scratch, become, become)
    os.chmod(scratch, 0o700)
    return become


def _python_reachable() -> bool:
    """Whether a user other than root can still read the interpreter and its libraries: every
    folder on the way needs others' execute bit."""
    for folder in interpreter_folders():
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


# -- both levels --------------------------------------------------------------------------

def enter(config: dict[str, Any]) -> str:
    """Apply the level the grader chose in this (child) process; return it."""
    level = config.get("isolation")
    if level not in wire.LEVELS:
        raise ValueError(f"unknown isolation level {level!r}")
    become = None
    if level == LEVEL_NAMESPACES:
        become = _enter_namespaces(config)
        scratch, tmp = SCRATCH, "/tmp"
    else:
        become = _enter_rlimits(config)
        scratch = tmp = config["scratch"]
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": tmp, "LANG": "C.UTF-8",
                       "OMP_NUM_THREADS": "1"})
    cuda = bool(config.get("cuda"))
    apply_rlimits(config["limits"], cuda=cuda)
    drop_privileges(become=become)
    if become is not None:  # a change of credentials clears the parent-death signal: set it again
        check(LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if level == LEVEL_RLIMITS:   # no root of its own: Landlock keeps it to its scratch and the system
        plan = cuda_plan(config)
        readable = [str(p) for p in bound_folders() + plan["folders"]] + list(SYSTEM_FILES)
        if cuda:
            readable.append(PROC_DRIVER)
        landlock.restrict(readable, [scratch], devices=[f"/dev/{d}" for d in DEVICES], gpu_nodes=plan["nodes"])
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)   # no other child of the same user reads this one
    restrict_syscalls(cuda=cuda, log_refused=cuda and bool(config.get("seccomp_log")))
    return level
