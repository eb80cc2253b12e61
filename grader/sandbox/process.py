"""Start, limit, talk to and kill the sandboxed children that run submissions.

Children come from a ``multiprocessing`` forkserver that has imported torch (and
the child's server) but never computed anything, so each child costs a fork of a
warm process rather than a fresh torch import, and never inherits OpenMP state.

The grader talks to a child over a pipe with :mod:`grader.wire` messages and
reads its stdout/stderr from a second pipe, capped. Every wait has a deadline;
a child that misses it is killed with its whole process group (SIGKILL, which it
cannot ignore) and the caller gets a :class:`~grader.errors.SandboxFailure`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import errors, wire
from grader.sandbox import forkserver
from grader.spec import Limits

MAX_REPLY_BYTES = 1 << 30

_CONTEXT = forkserver.CONTEXT
_without_main_module = forkserver.without_main_module


@dataclass(frozen=True)
class Hello:
    """The child's first message, read once: did the submission load, at which isolation level,
    what it defines, or why it could not be loaded."""

    status: str = "none"                    # "ready", "load_error", or "none" before any child started
    isolation: str = "none"
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
        status = header.get("status")
        isolation = str(header.get("isolation", "none"))
        if status == "ready":
            names = header.get("names")
            names = {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}
            return cls(status="ready", isolation=isolation, names=names)
        error = {k: v for k, v in header.items() if k not in ("status", "isolation")}
        return cls(status="load_error", isolation=isolation, error=error)


SIGNAL_MESSAGES = {
    signal.SIGSEGV: "crashed with a segmentation fault (often unbounded recursion or a bad native call)",
    signal.SIGBUS: "crashed with a bus error",
    signal.SIGABRT: "aborted (a native library gave up, often out of memory)",
    signal.SIGFPE: "crashed with a floating-point exception",
    signal.SIGILL: "crashed with an illegal instruction",
}


class Sandbox:
    """One running child for one submission."""

    def __init__(self, *, submission: Path, limits: Limits, banned: tuple[str, ...] = (),
                 isolation: str = "best") -> None:
        self.submission = Path(submission).resolve()
        self.limits = limits
        self.banned = banned
        self.isolation_request = isolation
        self.isolation = "none"
        self.process = None
        self.conn = None
        self._output = bytearray()
        self._output_total = 0
        self._flooded = False
        self._scratch: str | None = None
        self._drain: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------
    def start(self, deadline: float) -> Hello:
        """Fork the child, load the submission, return its hello."""
        self._scratch = tempfile.mkdtemp(prefix="grade-scratch-")
        os.chmod(self._scratch, 0o777)
        parent_conn, child_conn = _CONTEXT.Pipe(duplex=True)
        out_read, out_write = _CONTEXT.Pipe(duplex=False)
        config = {
            "submission": str(self.submission),
            "scratch": self._scratch,
            "limits": asdict(self.limits),
            "banned": list(self.banned),
            "isolation": self.isolation_request,
        }
        self.process = _CONTEXT.Process(target=forkserver.run_child, args=(child_conn, out_write, config),
                                        name="grade-child", daemon=False)
        with _without_main_module():
            self.process.start()  # returns once the forkserver has forked (it may still be importing torch)
        # The submission's time starts now, not while the grader waited for the forkserver.
        deadline = max(deadline, time.monotonic() + self.limits.call_seconds)
        child_conn.close()
        out_write.close()
        self.conn = parent_conn
        self._drain = threading.Thread(target=self._drain_output, args=(out_read,), daemon=True)
        self._drain.start()
        header, _ = self._receive(deadline, what="loading your solution")
        hello = Hello.from_header(header)
        self.isolation = hello.isolation
        return hello

    def close(self) -> None:
        """Kill the child and everything it started; remove its scratch directory."""
        self._kill()
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self._drain is not None:
            self._drain.join(timeout=2)
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive() and self.conn is not None

    @property
    def output(self) -> str:
        text = bytes(self._output).decode("utf-8", errors="replace")
        if self._output_total > len(self._output):
            text += f"\n[... {self._output_total - len(self._output)} more bytes not shown]"
        return text

    # -- talking ---------------------------------------------------------------
    def request(self, header: dict[str, Any], values: dict[str, Any] | None, *, deadline: float,
                what: str) -> tuple[dict, dict]:
        if not self.alive:
            raise errors.SandboxFailure("The submission's process is no longer running.")
        try:
            self.conn.send_bytes(wire.encode_message(header, values))
        except (BrokenPipeError, OSError):
            raise self._failure(what) from None
        return self._receive(deadline, what=what)

    def _receive(self, deadline: float, *, what: str) -> tuple[dict, dict]:
        remaining = deadline - time.monotonic()
        ready = multiprocessing.connection.wait([self.conn, self.process.sentinel], max(0.0, remaining))
        if self.conn in ready:
            try:
                data = self.conn.recv_bytes(MAX_REPLY_BYTES)
            except (EOFError, OSError):
                raise self._failure(what) from None
            try:
                return wire.decode_message(data)
            except wire.WireError as error:
                self._kill()
                raise errors.SandboxFailure(
                    f"The submission's process sent a malformed reply while {what} ({error})."
                ) from None
        if self.process.sentinel in ready or self._flooded:
            raise self._failure(what)
        self._kill()
        seconds = self.limits.call_seconds
        raise errors.Timeout(
            f"Exceeded the {seconds:g} s time limit while {what} (an infinite loop, or far too slow).",
            hint="Look for a loop that never ends, or work that grows much faster than the input.",
        )

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
