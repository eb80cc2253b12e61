"""The ``student`` object that checks call: a proxy to the submission in its sandbox.

Checks never see the child. They call ``student.call("softmax", x, dim=0)`` or
``mha = student.new("MultiHeadAttention", 8, 2)`` and ``mha(q, k, v)``, and get
back plain tensors, or one of the :mod:`grader.errors` exceptions with a message
a student understands. Check authors reach these through :mod:`grader.kit`.

One child serves one submission for as long as it is healthy. When a call kills
it (timeout, crash, early exit), the current check fails and the next check
starts a fresh child.

An error is told only about the input that caused it. What the submission raises
for an input is raised for that input alone: every later call runs afresh, so the
failing example Hypothesis shrinks to, and the one the report shows, really fails
that way. Only errors that do not depend on the input are remembered for the rest
of the check (the file does not load, a name is missing, the time budget is spent).
A call that kills the child (a hang, a crash, memory, an exit) is not repeated for
every example: later examples of that check are skipped (``hypothesis.reject``);
a replay of the example that broke it gets that example's earlier answers back as
they were, and the same error from the same call (a hang is not waited out twice);
the final replay of any other example runs afresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
import hashlib
from typing import Any, Callable

import torch
from hypothesis import reject
from hypothesis.control import current_build_context

from grader import errors, results, wire
from grader.sandbox import probe, source
from grader.sandbox.process import Budget, Hello, Sandbox
from grader.sandbox.reply import checked_reply
from grader.spec import Limits


@dataclass
class Grad:
    """Ask for gradients: of the positional arguments ``wrt``, given ``grad_outputs``
    (one per returned value, None to skip), and of the module's parameters."""

    wrt: tuple[int, ...] = ()
    grad_outputs: tuple[Any, ...] = ()
    params: bool = False


@dataclass
class Reply:
    value: Any
    input_grads: dict[int, Any] = field(default_factory=dict)
    param_grads: dict[str, Any] = field(default_factory=dict)
    has_graph: bool = True
    inputs_after: dict[str, Any] | None = None
    aten_ops: int | None = None


MAX_TIMEOUTS = 2  # after this many checks hit the time limit, the rest fail at once
MSG_GAVE_UP = ("Not run: the submission exceeded the time limit in {count} earlier checks, "
               "so the remaining checks were not started.")

DTYPE_METHODS = {torch.float64: "double", torch.float32: "float", torch.float16: "half",
                 torch.bfloat16: "bfloat16"}


class SubmissionRunner:
    """Owns the sandboxed child of one submission across all its checks.

    The grader reads the submission's bytes here, once (:mod:`grader.sandbox.source`); a file
    that cannot be graded (a link, too large, not a plain file) fails every check with the
    reason, and no child starts. Time is charged only while the grader waits on the child:
    each call has ``call_seconds``, and all of them together ``total_seconds``.
    """

    def __init__(self, *, submission: Path, limits: Limits, banned: tuple[str, ...] = (),
                 isolation: str = "best", private: tuple[str, ...] = (), cuda: dict | None = None) -> None:
        self.submission = Path(submission)
        self.cuda = cuda   # the child's CUDA settings (grader.run.devices.child_settings), None: CPU only
        self.limits = limits
        self.banned = banned
        self.isolation = probe.resolve(isolation)
        self.private = tuple(private) or _private_folders(self.submission)
        self.used = 0.0   # seconds spent waiting on the child, loading included
        self.sandbox: Sandbox | None = None
        self.hello = Hello()
        self.output_parts: list[str] = []
        self.timeouts = 0
        self.refusal: str | None = None
        try:
            self.source = source.read_submission(self.submission)
        except source.SourceRefused as error:
            self.source, self.refusal = b"", str(error)
        self._recording: list[tuple[str, list]] | None = None   # a replay's traffic, request by request
        self._tape: list[tuple[str, list]] = []                 # that traffic, to serve to the real run
        self._serving: list[tuple[str, bool, Any]] | None = None   # the events of the request being served
        self._events: list | None = None   # where the request being recorded puts its events

    def ensure(self) -> Sandbox:
        if self.sandbox is not None and self.sandbox.alive:
            return self.sandbox
        self._retire()
        if self.refusal is not None:
            raise errors.SubmissionLoadError(self.refusal, hint="Hand in the solution itself, as a .py file.")
        if self.timeouts >= MAX_TIMEOUTS:
            raise errors.SandboxFailure(MSG_GAVE_UP.format(count=self.timeouts))
        if self.used >= self.limits.total_seconds:
            raise errors.SandboxFailure(
                f"The submission used up the {self.limits.total_seconds:g} s that all its calls may take "
                "together; the remaining checks were not run.")
        sandbox = Sandbox(source=self.source, limits=self.limits, banned=self.banned,
                          isolation=self.isolation, private=self.private, cuda=self.cuda)
        self.sandbox = sandbox
        started = time.monotonic()
        try:
            self.hello = sandbox.start(self.budget())
        except errors.SandboxFailure as error:
            if error.timed_out:   # a submission that hangs while loading gives up like one that hangs in a call
                self.timeouts += 1
            raise
        finally:   # from the fork: a forkserver still importing torch is not the submission's time
            self.charge(max(started, sandbox.forked_at or started))
        return sandbox

    def budget(self) -> Budget:
        """The wait for the next reply: one call's limit, or what is left of the total if less."""
        left = max(0.0, self.limits.total_seconds - self.used)
        cpu = self.limits.call_cpu_seconds
        if left < self.limits.call_seconds:
            return Budget(time.monotonic() + left, total=True, cpu_seconds=cpu)
        return Budget(time.monotonic() + self.limits.call_seconds, cpu_seconds=cpu)

    def charge(self, started: float) -> None:
        if self._serving is None:   # a served request was charged when the replay made it
            self.used += time.monotonic() - started

    # -- the tape (grader.run.replay) ------------------------------------------------
    # A replay of a check's recorded examples talks to the child as the real run would. When
    # one of them fails, the real run starts with the same requests: each is answered from the
    # tape, as the child answered it then (its errors, its deaths, its time), without running
    # it again, so the child's history, the time charged and the timeouts counted are those of
    # grading without replay. The first request that differs ends the tape.
    def start_recording(self) -> None:
        self._recording, self._tape = [], []

    def stop_recording(self) -> list[tuple[str, list]]:
        recorded, self._recording = self._recording or [], None
        return recorded

    def serve(self, tape: list[tuple[str, list]] | None) -> None:
        """Answer the next requests from ``tape`` (None: from the child)."""
        self._tape = list(tape or ())
        self._serving = None

    def begin_request(self, fingerprint: str) -> None:
        if self._recording is not None:
            self._events = []
            self._recording.append((fingerprint, self._events))
        elif self._tape and self._tape[0][0] == fingerprint:
            self._serving = list(self._tape.pop(0)[1])
        else:
            self._tape = []   # the real run asked something else: from here on, the child answers

    def end_request(self) -> None:
        self._serving = self._events = None

    def taped(self, kind: str, live: Callable[[], Any]) -> Any:
        """``live()``, recorded while recording; while serving, what it returned or raised then."""
        if self._serving is not None:
            if not self._serving or self._serving[0][0] != kind:
                raise RuntimeError(f"the replay's tape has no {kind} here")   # a grader bug
            _, ok, value = self._serving.pop(0)
            if ok:
                return value
            raise value
        try:
            value = live()
        except BaseException as error:
            if self._events is not None:
                self._events.append((kind, False, error))
            raise
        if self._events is not None:
            self._events.append((kind, True, value))
        return value

    @property
    def live(self) -> bool:
        """False while a request is served from the tape (its effects on the runner happened then)."""
        return self._serving is None

    def _retire(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            out = self.sandbox.output
            if out:
                self.output_parts.append(out)
            self.sandbox = None

    def close(self) -> None:
        self._retire()

    @property
    def output(self) -> str:
        parts = list(self.output_parts)
        if self.sandbox is not None and self.sandbox.output:
            parts.append(self.sandbox.output)
        return "\n".join(parts)[-(self.limits.output_kib << 10):]


class Student:
    """What a check's ``student`` fixture is: the submission, seen from the grader."""

    def __init__(self, runner: SubmissionRunner, device: str = "cpu") -> None:
        self._runner = runner
        self.device = device   # where the check runs: the modules it makes are moved there
        self._fatal: errors.StudentError | None = None        # input-independent: stands for every call
        self._broken: errors.SandboxFailure | None = None     # a call that killed the child in this check
        self._broken_request: str | None = None               # the fingerprint of that call
        self._broken_example: dict[str, tuple] = {}           # the answers of that example's calls before it
        self._example: tuple[Any, dict] = (None, {})          # (Hypothesis's build context, its answers so far)
        self.banned_hits: set[str] = set()
        self.notes: list[str] = []
        self.curves: list[results.Curve] = []
        self.advice: list[str] = []

    def __repr__(self) -> str:  # appears in Hypothesis's falsifying examples: keep it stable
        return "student"

    # -- the API checks use ----------------------------------------------------
    def call(self, name: str, *args, **kwargs) -> Any:
        """Call the submission's function ``name`` and return what it returned."""
        return self.run(name, *args, **kwargs).value

    def run(self, name: str, *args, grad: Grad | None = None, echo_inputs: bool = False,
            count_ops: bool = False, calm: bool = False, **kwargs) -> Reply:
        """Like :meth:`call`, with gradients, echoed inputs or an op count (``calm``: see
        :meth:`RemoteObject.run`)."""
        return self._call({"name": name}, args, kwargs, grad, echo_inputs, count_ops, what=f"calling {name}",
                          calm=calm)

    def new(self, class_name: str, *args, **kwargs) -> RemoteObject:
        """Instantiate the submission's class; return a handle to the object."""
        what = f"creating {class_name}({_signature(args, kwargs)})"
        header, _ = self._request({"op": "new", "name": class_name},
                                  {"args": list(args), "kwargs": kwargs}, what=what)
        made = RemoteObject(self, int(header["obj"]), class_name, header.get("info") or {})
        if header.get("info", {}).get("is_module"):
            made.to_device(self.device)   # made on the CPU, as a user would; then on the check's device
        return made

    def deferred(self, class_name: str, *args, **kwargs) -> RemoteObject:
        """A handle to ``class_name(*args, **kwargs)`` that is made with its first call.

        Its conversion (:meth:`RemoteObject.to_dtype`) and weights (:meth:`RemoteObject.load_state_dict`)
        wait too: creating, converting, loading and calling travel in one request, and each
        stage's error still names that stage ("while creating MultiHeadAttention(8, 2)").
        Anything else asked of it (its layout, another method) makes it first, stage by stage.
        """
        if str(self.device).startswith("cuda"):  # moved to the GPU once made: stage by stage
            return self.new(class_name, *args, **kwargs)
        return RemoteObject(self, None, class_name, {}, pending=Pending(args=tuple(args), kwargs=dict(kwargs)))

    def show(self, *, note: str | None = None, curve: results.Curve | None = None,
             advice: str | None = None) -> None:
        """Put a line or a curve in the check's result, whether it passes or fails
        (a pass has no other text: "learned to 99%" is worth showing). ``advice`` is a note on
        something the contract leaves open: shown in the report, never a deduction."""
        if note:
            self.notes.append(note)
        if curve is not None:
            self.curves.append(curve)
        if advice and advice not in self.advice:
            self.advice.append(advice)

    @property
    def names(self) -> dict[str, str]:
        """Top-level names the submission defines (after loading it)."""
        self._sandbox()
        return dict(self._runner.hello.names)

    # -- plumbing --------------------------------------------------------------
    def _call(self, target, args, kwargs, grad, echo_inputs, count_ops, *, what, state=None,
              made: RemoteObject | None = None, calm: bool = False, keep_graph: bool = False) -> Reply:
        header = {"op": "call", "target": target, "echo_inputs": echo_inputs, "count_ops": count_ops}
        if calm:
            header["calm"] = True
        if keep_graph:
            header["keep"] = True
        values: dict[str, Any] = {"args": list(args), "kwargs": kwargs}
        if state is not None:  # load these weights into the object first, in the same round trip
            values["state"] = dict(state)
        if grad is not None:
            header["grad"] = {"wrt": list(grad.wrt), "params": grad.params}
            values["grad_outputs"] = list(grad.grad_outputs)
        if made is not None and made.build_header() is not None:  # make (and convert) it in the same round trip
            header["build"] = made.build_header()
            values["build"] = made.build_values()
        head, out = self._request(header, values, what=what, made=made)
        grads = out.get("input_grads") or {}
        return Reply(
            value=out.get("result"),
            input_grads={int(k): v for k, v in grads.items()} if isinstance(grads, dict) else {},
            param_grads=out.get("param_grads") or {},
            has_graph=bool(head.get("graph", True)),
            inputs_after=out.get("inputs_after"),
            aten_ops=head.get("aten_ops"),
        )

    def _raise_fatal(self) -> None:
        """Raise the check's fatal error, always from this one line.

        Raise it afresh: re-raising one object would grow its traceback every time. And
        from one place: Hypothesis tells failures apart by where they were raised, so the
        cached error raised from elsewhere on a replay made the failure "flaky" (no
        falsifying example shown, no diagnosis on the final replay).
        """
        self._fatal.for_every_input = True  # the plugin shows no example for it: any input fails
        raise self._fatal.with_traceback(None)

    def _sandbox(self) -> Sandbox:
        if self._fatal is not None:
            self._raise_fatal()
        runner = self._runner
        try:
            sandbox, hello = runner.taped("ensure", lambda: (runner.ensure(), runner.hello))
        except errors.StudentError as error:
            self._fatal = error
            self._raise_fatal()
        if not hello.ready:
            self._fatal = load_error(hello, self._runner.submission)
            self._raise_fatal()
        return sandbox

    def _request(self, header: dict, values: dict, *, what: str,
                 made: RemoteObject | None = None) -> tuple[dict, dict]:
        """Send one request and return the reply (or raise its error).

        With ``made`` (a deferred object made by this request), the child answers twice: once
        the object is made, converted and loaded (``built``, with its number: a new call limit
        starts for the call itself, as when each stage was a request of its own), then with
        the call's reply. A stage's error names that stage.
        """
        packed = wire.pack_values(values)   # once: for the fingerprint and, if it is sent, the message
        fingerprint = _fingerprint(header, packed)
        self._runner.begin_request(fingerprint)
        try:
            return self._exchange(fingerprint, header, packed, what=what, made=made)
        finally:
            self._runner.end_request()

    def _exchange(self, fingerprint: str, header: dict, packed: wire.Packed, *, what: str,
                  made: RemoteObject | None) -> tuple[dict, dict]:
        runner = self._runner
        context = _build_context()
        if context is not self._example[0]:
            self._example = (context, {})
        if self._broken is not None:
            recorded = self._broken_example.get(fingerprint)
            if recorded is not None:
                if made is not None:
                    made.made(recorded[0].get("obj"))
                return recorded  # an earlier call of the example that broke the child: as it answered then
            if fingerprint == self._broken_request and (self._broken.timed_out or not _final_example()
                                                         or not self._can_start()):
                self._raise_broken()  # this very request broke the child: say so again, do not wait twice
            if not _final_example():
                reject()  # the child died on an earlier example of this check: skip this one, do not run it
        sandbox = self._sandbox()
        building = made is not None and "build" in header
        waiting = made.stage_what("new") if building else what
        started = time.monotonic()
        try:
            runner.taped("send", lambda: sandbox.send_packed(header, packed, what=waiting))
            head, out = checked_reply(*runner.taped("receive", lambda: sandbox.receive(runner.budget(), what=waiting)))
            if building and head.get("status") == BUILT:
                made.made(head.get("obj"), settled=True)
                self._note_banned(head)
                runner.charge(started)
                started, waiting = time.monotonic(), what
                head, out = checked_reply(*runner.taped("receive",
                                                        lambda: sandbox.receive(runner.budget(), what=waiting)))
        except wire.WireError as error:
            self._fatal = runner.taped("malformed", lambda: sandbox._malformed(waiting, error))
            self._raise_fatal()
        except errors.SandboxFailure as error:
            if error.timed_out and runner.live:
                runner.timeouts += 1
            self._break(error, fingerprint)
        finally:
            runner.charge(started)
        if head.get("restart") and runner.live:   # the child lost its CUDA context on this call and ended
            runner._retire()
        self._note_banned(head)
        if made is not None:
            made.made(head.get("obj"), settled=head.get("status") == "ok" or head.get("stage") == "call")
            what = made.stage_what(head.get("stage"), otherwise=what)
        status = head.get("status")
        if status == "ok":
            self._example[1][fingerprint] = (head, out)
            return head, out
        error = reply_error(head, what)
        if isinstance(error, errors.MissingName):
            self._fatal = error  # a missing name is missing for every input
            self._raise_fatal()
        if isinstance(error, errors.SandboxFailure):  # out of memory, or an exit: not repeated per example
            self._break(error, fingerprint)
        # Anything else the submission raised belongs to this input alone: raised here, from
        # one line (see _raise_fatal), and the next call runs afresh.
        raise error.with_traceback(None)

    def _note_banned(self, head: dict) -> None:
        for name in head.get("banned") or ():
            if isinstance(name, str):
                self.banned_hits.add(name)

    def _break(self, error: errors.SandboxFailure, fingerprint: str) -> None:
        """The call ``fingerprint`` broke the child: remember it, and the answers of its example's calls
        before it (a replay of that example gets them back without a child), then raise."""
        self._broken, self._broken_request = error, fingerprint
        self._broken_example = dict(self._example[1])
        self._raise_broken()

    def _can_start(self) -> bool:
        """Whether a call now gets a child (a live one, or a new one within the limits)."""
        runner = self._runner
        if runner.sandbox is not None and runner.sandbox.alive:
            return True
        return (runner.refusal is None and runner.timeouts < MAX_TIMEOUTS
                and runner.used < runner.limits.total_seconds)

    def _raise_broken(self) -> None:
        """Raise the error of the call that killed the child, from one line (see _raise_fatal)."""
        raise self._broken.with_traceback(None)


BUILT = "built"  # the child's first answer to a request that makes a deferred object: made, converted, loaded


@dataclass
class Pending:
    """What a deferred object still waits for: being made (``args``, ``kwargs``), converted, loaded."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    convert: str | None = None               # the dtype method to call ("double"), if any
    state: dict[str, Any] | None = None      # the weights to load, if any
    new: bool = True                         # False once the object exists in the child


class RemoteObject:
    """An object living in the child (a module, usually).

    A deferred one (:meth:`Student.deferred`) has no number until its first call makes it.
    """

    def __init__(self, student: Student, key: int | None, class_name: str, info: dict, *,
                 pending: Pending | None = None) -> None:
        self._student = student
        self.key = key
        self.class_name = class_name
        self._info = info
        self._pending = pending

    @property
    def info(self) -> dict:
        """The object's layout (its type, submodules, parameters), as the child described it when made."""
        if self._pending is not None and (self._pending.new or self._pending.convert):
            self._flush(load=False)  # made and converted, as it would be when its layout is read
        return self._info

    @property
    def children(self) -> dict[str, dict]:
        return dict(self.info.get("children") or {})

    @property
    def parameters(self) -> dict[str, list]:
        return dict(self.info.get("parameters") or {})

    def __call__(self, *args, **kwargs) -> Any:
        return self.run(*args, **kwargs).value

    def run(self, *args, grad: Grad | None = None, echo_inputs: bool = False, count_ops: bool = False,
            state: dict[str, torch.Tensor] | None = None, calm: bool = False, keep_graph: bool = False,
            **kwargs) -> Reply:
        """Call the module; with ``state``, load those weights into it first (one round trip, not two).

        A deferred object is made, converted and loaded by this same request. With ``calm``, the
        call runs with dropout held off (:mod:`grader.sandbox.child.calm`): an answer to name
        mistakes with, never to score. With ``keep_graph`` (and no ``grad``), the child keeps the
        outputs' autograd graph for a :meth:`backward` that must be the very next request.
        """
        pending = self._pending
        if pending is not None and state is None:
            state = pending.state
        target = {"method": "__call__"} if pending is not None and pending.new else {"obj": self.key,
                                                                                    "method": "__call__"}
        return self._student._call(target, args, kwargs, grad, echo_inputs, count_ops,
                                   what=f"calling {self.class_name}.forward", state=state,
                                   made=self if pending is not None else None, calm=calm, keep_graph=keep_graph)

    def backward(self, *grad_outputs: Any) -> Reply:
        """The parameters' gradients of the outputs of the call just made with ``keep_graph``, given one
        gradient per returned value (None to skip): what ``run(..., grad=Grad(grad_outputs=...,
        params=True))`` gives, without the child computing forward a second time. ``has_graph``: whether
        any output was part of an autograd graph."""
        head, out = self._student._request({"op": "backward", "obj": self.key},
                                           {"grad_outputs": list(grad_outputs)},
                                           what=f"computing the gradients of {self.class_name}.forward")
        return Reply(value=None, param_grads=out.get("param_grads") or {}, has_graph=bool(head.get("graph", True)))

    def method(self, name: str, *args, **kwargs) -> Any:
        """Call another method of the object (``"double"``, ``"float"``, ...)."""
        self._flush()
        return self._student._call({"obj": self.key, "method": name}, args, kwargs, None, False, False,
                                   what=f"calling {self.class_name}.{name}()").value

    def to_dtype(self, dtype: torch.dtype) -> None:
        """Convert the module's parameters, like ``module.to(dtype)`` (a deferred object: with its first call)."""
        if self._pending is not None and self._pending.state is None:
            self._pending.convert = DTYPE_METHODS[dtype]
            return
        self.method(DTYPE_METHODS[dtype])

    def to_device(self, device: str) -> None:
        """Move the module to ``device`` ("cuda" or "cuda:0"; the CPU is where it is made), like ``module.cuda()``."""
        if str(device).startswith("cuda"):
            self.method("cuda")

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load weights (a deferred object: with its first call; ``strict`` always, as the call loads them)."""
        if self._pending is not None and strict:
            self._pending.state = dict(state)
            return
        self._flush()
        self._student._request({"op": "load_state_dict", "obj": self.key, "strict": strict},
                               {"state": dict(state)}, what=f"loading weights into {self.class_name}")

    def state_dict(self) -> dict[str, Any]:
        self._flush()
        _, out = self._student._request({"op": "state_dict", "obj": self.key}, {},
                                        what=f"reading {self.class_name}.state_dict()")
        state = out.get("state")
        return state if isinstance(state, dict) else {}

    # -- a deferred object ----------------------------------------------------------
    def made(self, key: Any, *, settled: bool = False) -> None:
        """The child made this object under number ``key`` (from its reply; ignored unless an int);
        ``settled``: it is also converted and loaded (the request reached the call)."""
        pending = self._pending
        if pending is None:
            return
        if pending.new and isinstance(key, int) and not isinstance(key, bool):
            self.key, pending.new = key, False
        if settled and not pending.new:
            self._pending = None

    def build_header(self) -> dict | None:
        """The ``build`` field of a request that makes this object, or None when it is made."""
        if self._pending is None or not self._pending.new:
            return None
        return {"name": self.class_name, "convert": self._pending.convert}

    def build_values(self) -> dict:
        return {"args": list(self._pending.args), "kwargs": dict(self._pending.kwargs)}

    def stage_what(self, stage: Any, otherwise: str = "") -> str:
        """What the child was doing at ``stage`` of a request that makes this object, for messages."""
        pending = self._pending or Pending()
        return {"new": f"creating {self.class_name}({_signature(pending.args, pending.kwargs)})",
                "convert": f"calling {self.class_name}.{pending.convert}()",
                "load": f"loading weights into {self.class_name}"}.get(stage, otherwise)

    def _flush(self, *, load: bool = True) -> None:
        """Do what a deferred object still waits for, one request per stage (its layout is asked for)."""
        pending = self._pending
        if pending is None:
            return
        if pending.new:
            header, _ = self._student._request({"op": "new", "name": self.class_name},
                                               {"args": list(pending.args), "kwargs": dict(pending.kwargs)},
                                               what=self.stage_what("new"))
            self.key, self._info, pending.new = int(header["obj"]), header.get("info") or {}, False
        if pending.convert:
            method, pending.convert = pending.convert, None
            self._student._call({"obj": self.key, "method": method}, (), {}, None, False, False,
                                what=f"calling {self.class_name}.{method}()")
        if load:
            self._pending = None
            if pending.state is not None:
                self.load_state_dict(pending.state)


def load_error(hello: Hello, submission: Path) -> errors.StudentError:
    fields = hello.error
    if fields.get("type") == "SyntaxError" or fields.get("type") == "IndentationError":
        line = fields.get("line")
        text = fields.get("text") or ""
        where = f" on line {line}" if line else ""
        return errors.SubmissionLoadError(
            f"{submission.name} has a {fields.get('type')}{where}: {fields.get('message')}",
            details=text)
    if fields.get("not_implemented"):
        return errors.NotImplementedByStudent(
            f"{submission.name} raises NotImplementedError when imported.")
    frames = _frames(fields)
    where = f" (line {frames[-1].line})" if frames else ""
    return errors.SubmissionLoadError(
        f"{submission.name} could not be imported{where}: {fields.get('type')}: {fields.get('message')}",
        frames=frames)


def reply_error(head: dict[str, Any], what: str) -> errors.StudentError:
    status = head.get("status")
    if status == "missing":
        return errors.MissingName(f"Your solution does not define {head.get('name')!s}.")
    if status != "error":
        return errors.SandboxFailure(f"The submission's process gave an unexpected reply while {what}.")
    frames = _frames(head)
    where = f" (line {frames[-1].line})" if frames else ""
    kind, message = str(head.get("type")), str(head.get("message"))
    if head.get("not_implemented"):
        return errors.NotImplementedByStudent(f"Not implemented yet: {message}" if message
                                              else "Not implemented yet.", frames=frames)
    if head.get("exit"):
        return errors.SandboxFailure(
            f"The submission called sys.exit() while {what}. A solution must not exit.", frames=frames)
    if head.get("memory"):
        return errors.SandboxFailure(f"The submission ran out of memory while {what}{where}: {message}",
                                     frames=frames,
                                     hint="Something allocates far more than the inputs need.")
    error = errors.StudentException(f"{kind} while {what}{where}: {message}", frames=frames)
    error.type_name = kind
    error.message = message
    return error


def _frames(head: dict[str, Any]) -> tuple:
    frames = []
    for f in head.get("frames") or ():
        if isinstance(f, dict) and isinstance(f.get("line"), int):
            frames.append(results.StudentFrame(line=f["line"], function=str(f.get("function", ""))[:200],
                                       source=str(f.get("source", ""))[:500]))
    return tuple(frames)


def _build_context() -> Any:
    """Hypothesis's context of the example being run (one per example), or None outside Hypothesis."""
    try:
        return current_build_context()
    except Exception:  # not inside a Hypothesis test
        return None


def _final_example() -> bool:
    """True on Hypothesis's final replay of a failing example, or outside Hypothesis."""
    context = _build_context()
    return context is None or bool(context.is_final)


def _fingerprint(header: dict, packed: wire.Packed) -> str:
    """A digest of one request: the same request (same inputs, same weights) gives the same digest. The
    object's number is left out: a fresh child numbers the objects of a replayed example afresh. The
    values are digested as they are sent (``packed``: their description, then their bytes)."""
    digest = hashlib.sha1(repr(sorted(((k, v) for k, v in header.items() if k not in ("obj", "target")),
                                      key=str)).encode())
    target = header.get("target")
    if isinstance(target, dict):
        digest.update(repr(sorted(((k, v) for k, v in target.items() if k != "obj"), key=str)).encode())
    digest.update(packed.tree.encode())
    digest.update(packed.payload)
    return digest.hexdigest()


def _signature(args, kwargs) -> str:
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    return wire.safe_repr(value)[:40]


def _private_folders(submission: Path) -> tuple[str, ...]:
    """Folders a child must not see even where they lie inside one it may: the submission's, and the
    class folder above a ``<student>/solution.py``."""
    folder = submission.resolve().parent
    folders = [folder]
    if submission.name == "solution.py":
        folders.append(folder.parent)
    return tuple(str(f) for f in folders)
