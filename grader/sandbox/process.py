"""Start, limit, talk to and kill the sandboxed children that run submissions.

Children come from a ``multiprocessing`` forkserver that has imported torch (and
the child's server) but never computed anything, so each child costs a fork of a
warm process rather than a fresh torch import, and never inherits OpenMP state.

The grader hands a child the submission's bytes (read by the grader itself, see
:mod:`grader.sandbox.source`) and the isolation level it must enter; talks to it over a
socket with :mod:`grader.wire` messages; reads its stdout/stderr from a pipe, capped.
Every wait has a deadline; a child that misses it is killed with its whole process group
(SIGKILL, which it cannot ignore) and the caller gets a :class:`~grader.errors.SandboxFailure`.
Whatever the child sends is its word: a reply that does not decode, or whose header is not
what the protocol says, is the submission's failure, never the grader's.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import select
import shutil
import signal
import stat
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from grader import errors, wire
from grader.sandbox import forkserver
from grader.spec import Limits

_CONTEXT = forkserver.CONTEXT
_without_main_module = forkserver.without_main_module
PR_SET_DUMPABLE = 4
# Where a child at the rlimits level can leave files behind (when Landlock is missing).
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")

LOAD_ERROR_FIELDS = {"type": str, "message": str, "line": int, "text": str, "frames": list,
                     "not_implemented": bool, "exit": bool, "memory": bool}


def not_dumpable() -> None:
    """Keep processes of the grader's user (a child at the rlimits level) out of this one's memory:
    no /proc/<pid>/mem, environ or ptrace for them."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover (not Linux)
        pass


class SandboxSetupError(RuntimeError):
    """The child could not enter its isolation level: the machine's or the grader's problem."""


@dataclass(frozen=True)
class Hello:
    """The child's first message, read once: did the submission load, what it defines, or why
    it could not be loaded."""

    status: str = "none"                    # "ready", "load_error", or "none" before any child started
    names: dict[str, str] = field(default_factory=dict)   # top-level name -> "function", "class", ...
    error: dict[str, Any] = field(default_factory=dict)   # the load error's fields (type, message, line, ...)

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def load_error(self) -> str | None:
        """One line: why the submission could not be loaded, or None."""
        if self.status != "load_error":
            return None
        return f"{self.error.get('type')}: {self.error.get('message')}"

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> Hello:
        """The hello in ``header``, field by field; :class:`wire.WireError` when it is not one."""
        status = header.get("status")
        if status == "ready":
            names = header.get("names")
            if not isinstance(names, dict) or len(names) > 10_000:
                raise wire.WireError("a hello without its table of names")
            return cls(status="ready", names={str(k)[:200]: str(v)[:200] for k, v in names.items()})
        if status == "setup_error":   # sent before any student code ran
            raise SandboxSetupError(f"the sandbox could not be set up: {str(header.get('message'))[:500]}")
        if status != "load_error":
            raise wire.WireError("a hello with an unknown status")
        error = {k: header[k] for k, kind in LOAD_ERROR_FIELDS.items()
                 if isinstance(header.get(k), kind) and not (kind is int and isinstance(header[k], bool))}
        return cls(status="load_error", error=error)


SIGNAL_MESSAGES = {
    signal.SIGSEGV: "crashed with a segmentation fault (often unbounded recursion or a bad native call)",
    signal.SIGBUS: "crashed with a bus error",
    signal.SIGABRT: "aborted (a native library gave up, often out of memory)",
    signal.SIGFPE: "crashed with a floating-point exception",
    signal.SIGILL: "crashed with an illegal instruction",
}


CUDA_DEVICE = "cuda:0"
SECCOMP_LOG = "GRADE_SECCOMP_LOG"


@dataclass(frozen=True)
class Budget:
    """When the wait for one reply ends, and which limit that is (for the message)."""

    deadline: float
    total: bool = False   # True when the submission's total time runs out before the call limit
    cpu_seconds: float | None = None   # the CPU time the child may use before it replies (None: no such limit)


HINT_SLOW = "Look for a loop that never ends, or work that grows much faster than the input."
CPU_LOOK_SECONDS = 0.25   # how often a wait longer than that looks at the child's CPU time


class Sandbox:
    """One running child for one submission."""

    def __init__(self, *, source: bytes, limits: Limits, banned: tuple[str, ...] = (),
                 isolation: str = wire.LEVEL_RLIMITS, private: tuple[str, ...] = (), cuda: dict | None = None) -> None:
        if isolation not in wire.LEVELS:
            raise ValueError(f"isolation must be one of {wire.LEVELS}, not {isolation!r}")
        self.source = source
        self.limits = limits
        self.banned = banned
        self.isolation = isolation
        self.private = private
        self.cuda = cuda   # settings for a child on CUDA (it initialises CUDA itself); None: CPU only
        self.process = None
        self.conn = None
        self._output = bytearray()
        self._output_total = 0
        self._flooded = False
        self._scratch: str | None = None
        self._drain: threading.Thread | None = None
        self._watch = None   # watch(seconds): the channel and sentinel that are ready (see _watcher)
        self.forked_at: float | None = None   # when the forkserver had forked the child (the wait for it is not the child's)

    # -- life cycle ------------------------------------------------------------
    def start(self, budget: Budget) -> Hello:
        """Fork the child, load the submission, return its hello."""
        not_dumpable()
        self._scratch = tempfile.mkdtemp(prefix="grade-scratch-")   # 0700; the child's at the rlimits level
        parent_conn, child_conn = _CONTEXT.Pipe(duplex=True)
        out_read, out_write = _CONTEXT.Pipe(duplex=False)
        config = {
            "source": self.source,
            "sha256": hashlib.sha256(self.source).hexdigest(),
            "scratch": self._scratch,
            "limits": asdict(self.limits),
            "banned": list(self.banned),
            "isolation": self.isolation,
            "private_folders": list(self.private),
        }
        if self.cuda:
            config["cuda"] = dict(self.cuda)
            # Diagnosing the filter on a new GPU machine only (scripts/gpu_check.sh): what it would
            # refuse is let through and logged by the kernel's audit instead. Never for grading.
            config["seccomp_log"] = os.environ.get(SECCOMP_LOG) == "1"
        self.process = _CONTEXT.Process(target=forkserver.run_child, args=(child_conn, out_write, config),
                                        name="grade-child", daemon=False)
        with _without_main_module():
            self.process.start()  # returns once the forkserver has forked (it may still be importing torch)
        self.forked_at = time.monotonic()
        # The submission's time starts now, not while the grader waited for the forkserver. A child
        # for CUDA initialises the driver while loading (seconds of CPU on some machines): wall clock only.
        budget = Budget(max(budget.deadline, self.forked_at + self.limits.call_seconds), budget.total,
                        cpu_seconds=None if self.cuda else budget.cpu_seconds)
        child_conn.close()
        out_write.close()
        self.conn = parent_conn
        self._watch = _watcher(parent_conn, self.process.sentinel)
        self._drain = threading.Thread(target=self._drain_output, args=(out_read,), daemon=True)
        self._drain.start()
        header, _ = self._receive(budget, what="loading your solution")
        try:
            return Hello.from_header(header)
        except wire.WireError as error:
            raise self._malformed("loading your solution", error) from None

    def close(self) -> None:
        """Kill the child and everything it started; remove what it stored."""
        self._kill()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self._drain is not None:
            self._drain.join(timeout=2)
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if self.process is not None and self.process.pid and self.isolation == wire.LEVEL_RLIMITS \
                and os.geteuid() == 0:
            remove_files_of(wire.CHILD_UID_BASE + self.process.pid)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive() and self.conn is not None

    @property
    def output(self) -> str:
        text = wire.clean_text(bytes(self._output).decode("utf-8", errors="replace"))
        if self._output_total > len(self._output):
            text += f"\n[... {self._output_total - len(self._output)} more bytes not shown]"
        return text

    # -- talking ---------------------------------------------------------------
    def request(self, header: dict[str, Any], values: dict[str, Any] | None, *, budget: Budget,
                what: str) -> tuple[dict, dict]:
        """Send one request and wait for its reply."""
        self.send(header, values, what=what)
        return self._receive(budget, what=what)

    def send(self, header: dict[str, Any], values: dict[str, Any] | None, *, what: str) -> None:
        self.send_packed(header, wire.pack_values(values), what=what)

    def send_packed(self, header: dict[str, Any], packed: wire.Packed, *, what: str) -> None:
        """:meth:`send` of values already packed (:func:`grader.wire.pack_values`)."""
        if not self.alive:
            raise errors.SandboxFailure("The submission's process is no longer running.")
        try:
            self.conn.send_bytes(wire.encode_packed(header, packed))
        except (BrokenPipeError, OSError):
            raise self._failure(what) from None

    def receive(self, budget: Budget, *, what: str) -> tuple[dict, dict]:
        """Wait for the child's next message (a request that makes an object gets two)."""
        return self._receive(budget, what=what)

    def _receive(self, budget: Budget, *, what: str) -> tuple[dict, dict]:
        ready = self._wait(budget)
        if self.conn in ready:
            try:
                data = self.conn.recv_bytes(wire.MAX_MESSAGE_BYTES)
            except EOFError:
                raise self._failure(what) from None
            except OSError as error:   # "bad message length": larger than the cap
                if self.process.is_alive() and "message length" in str(error):
                    raise self._malformed(what, wire.WireError(
                        f"a reply larger than {wire.MAX_MESSAGE_BYTES >> 20} MiB")) from None
                raise self._failure(what) from None
            try:
                # Tensors the child sent from its GPU come back onto the grader's (where it has one).
                return wire.decode_message(data, device_ok=lambda device: bool(self.cuda) and device == CUDA_DEVICE)
            except wire.WireError as error:
                raise self._malformed(what, error) from None
        if self.process.sentinel in ready or self._flooded:
            raise self._failure(what)
        self._kill()
        if ready is CPU_SPENT:
            raise errors.Timeout(
                f"Exceeded the {budget.cpu_seconds:g} s CPU time limit for one call while {what} "
                "(an infinite loop, or far too slow).",
                hint=HINT_SLOW)
        if budget.total:
            raise errors.Timeout(
                f"Used up the {self.limits.total_seconds:g} s that all calls into the submission may take "
                f"together, while {what}; the remaining checks were not run.",
                hint="Each call is fast enough only if the whole submission is: look for slow code.")
        raise errors.Timeout(
            f"Exceeded the {self.limits.call_seconds:g} s time limit for one call while {what} "
            "(an infinite loop, or far too slow).",
            hint=HINT_SLOW)

    def _wait(self, budget: Budget) -> list:
        """Wait for the child's message or its end, until the budget's deadline; ``CPU_SPENT`` when,
        first, one of the child's threads has used the budget's CPU time.

        The wall-clock deadline ends a child that sleeps or blocks; the CPU limit ends one that
        computes, after the same amount of its own work however busy the machine is (on a loaded
        machine a correct call takes longer, never more CPU). Each thread is counted alone: no thread
        computes faster than the wall clock runs, so a CPU limit above ``call_seconds`` never ends a call
        before the wall clock does, however many threads spin. A reply within ``CPU_LOOK_SECONDS``
        costs no look at the child's CPU time; after that, the call may use ``cpu_seconds`` more.
        """
        watch = self._watch
        spent = None
        while True:
            remaining = budget.deadline - time.monotonic()
            if budget.cpu_seconds is None or remaining <= CPU_LOOK_SECONDS:
                return watch(max(0.0, remaining))
            ready = watch(CPU_LOOK_SECONDS)
            if ready:
                return ready
            now = thread_cpu_times(self.process.pid)
            if spent is None:
                spent = now
            elif max((t - spent.get(tid, 0.0) for tid, t in now.items()), default=0.0) >= budget.cpu_seconds:
                return CPU_SPENT

    def _malformed(self, what: str, error: Exception) -> errors.SandboxFailure:
        self._kill()
        return errors.SandboxFailure(
            f"The submission's process sent a malformed reply while {what} ({error}); "
            "a submission must not write to the grader's channel.",
            hint="Do not touch file descriptors or the process's streams below Python's print().")

    def _failure(self, what: str) -> errors.SandboxFailure:
        self._kill()
        code = self.process.exitcode if self.process is not None else None
        if self._flooded:
            mib = self.limits.flood_bytes >> 20
            return errors.SandboxFailure(
                f"Printed more than {mib} MiB of output while {what}; it was stopped.",
                hint="Remove print statements from loops.")
        if code is not None and code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                message = f"used more than its {self.limits.cpu_seconds} s of CPU time"
            elif sig == signal.SIGXFSZ:
                message = f"tried to write a file larger than {self.limits.file_mib} MiB"
            elif sig == signal.SIGKILL:
                message = "was killed (it may have used too much memory)"
            else:
                message = SIGNAL_MESSAGES.get(sig, f"was killed by signal {signal.Signals(sig).name}")
            return errors.SandboxFailure(f"The submission {message} while {what}.")
        return errors.SandboxFailure(
            f"The submission's process exited (status {code}) while {what}. "
            "A solution must not call sys.exit(), os._exit() or quit().",
            hint="Remove calls to sys.exit/os._exit/quit from your solution.")

    def _drain_output(self, out_read) -> None:
        fd = out_read.fileno()
        keep = self.limits.output_kib << 10
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                self._output_total += len(chunk)
                if len(self._output) < keep:
                    self._output += chunk[: keep - len(self._output)]
                if self._output_total > self.limits.flood_bytes and not self._flooded:
                    self._flooded = True
                    self._kill()
        finally:
            out_read.close()

    def _kill(self) -> None:
        process = self.process
        if process is None or process.pid is None:
            return
        for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError, OSError, ValueError):
                pass
        process.join(timeout=5)


def _watcher(conn, sentinel: int):
    """``watch(seconds)``: those of the channel and the child's sentinel that are ready (readable, closed
    or in error) within ``seconds``, as ``multiprocessing.connection.wait`` says, from one ``poll`` object
    made once per child: not a selector made, filled and closed for every reply."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    poller.register(sentinel, select.POLLIN)
    by_fd = {conn.fileno(): conn, sentinel: sentinel}

    def watch(seconds: float) -> list:
        return [by_fd[fd] for fd, _ in poller.poll(math.ceil(seconds * 1000))]

    return watch


CPU_SPENT: list = []   # what _wait returns when the child used the call's CPU time (nothing is ready)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def thread_cpu_times(pid: int | None, depth: int = 4) -> dict[int, float]:
    """CPU seconds used by each thread of process ``pid`` and of the processes below it (a child at
    the namespaces level serves from a second process, PID 1 of its namespace), by thread id; empty
    for what /proc cannot say (not Linux, or a process that has just ended)."""
    used: dict[int, float] = {}
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except (OSError, TypeError):
        return used
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as stat_file:
                fields = stat_file.read().rsplit(b")", 1)[1].split()
            used[int(tid)] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            continue
    if depth > 0:
        try:
            with open(f"/proc/{pid}/task/{pid}/children", "rb") as children:
                below = [int(p) for p in children.read().split()]
        except (OSError, ValueError):
            below = []
        for child in below:
            used.update(thread_cpu_times(child, depth - 1))
    return used


def remove_files_of(uid: int, folders: tuple[str, ...] = SHARED_FOLDERS) -> int:
    """Remove what user ``uid`` (a dead child's own) left in the folders every user may write;
    return how many entries went. Links are removed, never followed."""
    removed = 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid != uid:
                continue
            try:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed += 1
            except OSError:
                continue
    return removed

