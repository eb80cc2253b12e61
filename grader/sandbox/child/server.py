"""The sandboxed child's server: loads one submission and answers the grader's requests.

Untrusted side (see :mod:`grader.sandbox.child`). It is preloaded (with torch)
into the forkserver, so a child costs a fork, not an import. Nothing it sends
back is believed: the grader decodes replies as plain data and checks them
itself. What the child records (banned calls, op counts) is advisory.

Request ops (header ``op``):

``call``     run a function of the submission, or a method of an object made by ``new``
             (with ``state`` among the values, load those weights into the object first; with
             ``build`` in the header, make the object first, convert it, load it, answer
             ``built`` with its number, then call it: one request instead of four; with ``calm``
             in the header, with dropout held off, for a diagnosis: :mod:`~grader.sandbox.child.calm`)
             (with ``keep`` in the header, its autograd graph is kept for a ``backward`` that follows)
``backward`` the gradients of the outputs of the ``call`` just before it (which kept its graph), given
             the grader's ``grad_outputs``: the parameters' gradients, without computing forward again
``new``      instantiate a class of the submission; reply with an object id and its layout
``load_state_dict`` / ``state_dict``   move weights in and out of an object
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.abc
import importlib.util
import linecache
import os
import random
import sys
import traceback
from typing import Any

import numpy as np
import torch

from grader import wire
from grader.sandbox.child import calm, cuda, inherited, isolation
from grader.sandbox.child import recorder as recorder_module
from grader.sandbox.child.recorder import BannedRecorder, OpCounter

MAX_REQUEST_BYTES = 1 << 30
SOURCE_NAME = "solution.py"
BLOCKED_PACKAGES = ("grader", "attention_reference", "tests", "exercises")
CHILD_PACKAGE = "grader.sandbox.child"
KEPT_MODULES = ("grader.wire", "grader.sandbox", CHILD_PACKAGE)  # the child side and the protocol it speaks


inherited.not_dumpable()   # in the forkserver, where this module is preloaded: its children inherit it


class _BlockGraderImports(importlib.abc.MetaPathFinder):
    """Refuse imports of the grader's trusted packages from the submission."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED_PACKAGES:
            raise ImportError(f"{fullname} cannot be imported by a submission")
        return None


def main(conn, out_conn, config: dict[str, Any]) -> None:
    """Entry point in the forked child (called through multiprocessing)."""
    gc.freeze()  # what the forkserver made (torch, hundreds of thousands of objects) is never collected here
    os.setsid()  # own session and process group: the grader kills the group whole
    inherited.keep_only(conn, out_conn)
    torch.set_num_threads(1)
    config["limits"] = {**config["limits"], "warm_up_bytes": recorder_module.WARM_UP_BYTES}
    try:
        level = isolation.enter(config)
        cuda.prepare(config)   # inside the jail, before any student code (nothing without config["cuda"])
        path = _place_source(config)
    except BaseException as error:  # before any student code: the sandbox itself could not be made
        conn.send_bytes(wire.encode_message({"status": "setup_error", "message": f"{type(error).__name__}: {error}"}))
        os._exit(3)
    _sanitise_imports()
    seed_generators()
    recorder = BannedRecorder(config.get("banned", ()))
    server = Server(conn, path, recorder, level, device_ok=cuda.device_ok(config))
    server.load()
    server.serve()
    os._exit(0)


CHILD_SEED = 0


def seed_generators() -> None:
    """Start Python's, NumPy's and torch's CPU generators from one fixed seed, before the submission
    loads: a submission that draws (dropout, its own torch.rand) answers the same in every child and
    in every grading of it, so its shown numbers are the same each time (the forkserver's state differs
    from process to process, and a fork reseeds Python's generator)."""
    random.seed(CHILD_SEED)
    np.random.seed(CHILD_SEED)
    torch.default_generator.manual_seed(CHILD_SEED)   # not torch.manual_seed: no lazy accelerator seeding


def _place_source(config: dict[str, Any]) -> str:
    """Write the bytes the grader read into the scratch folder, after checking their hash."""
    source = config["source"]
    if hashlib.sha256(source).hexdigest() != config["sha256"]:
        raise RuntimeError("the submission's bytes do not match the hash the grader sent")
    path = os.path.join(os.getcwd(), SOURCE_NAME)
    with open(path, "wb") as f:
        f.write(source)
    config["source"] = b""
    return path


def _sanitise_imports() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in ("attention_reference", "tests", "exercises"):
            del sys.modules[name]
    for name in list(sys.modules):
        if name.startswith("grader.") and name not in KEPT_MODULES and not name.startswith(CHILD_PACKAGE + "."):
            del sys.modules[name]
    sys.meta_path.insert(0, _BlockGraderImports())
    sys.path[:] = [p for p in sys.path if p and "site-packages" in p or p.endswith(".zip")
                   or "/lib/python" in p]


class Server:
    def __init__(self, conn, path: str, recorder: BannedRecorder, level: str,
                 device_ok=lambda device: False) -> None:
        self.conn = conn
        self.device_ok = device_ok   # the devices the grader's tensors may be placed on here (cuda:0, or none)
        self.on_cuda = device_ok(cuda.DEVICE)
        self.path = path
        self.recorder = recorder
        self.level = level
        self.module = None
        self.objects: dict[int, Any] = {}
        self.stage: str | None = None   # of a request that makes, converts or loads: where it is
        self.made: int | None = None    # the object that request made
        self.kept: tuple[Any, Any] | None = None   # (object, outputs) of the call just answered, with ``keep``

    # -- loading ---------------------------------------------------------------
    def load(self) -> None:
        header: dict[str, Any] = {"status": "ready"}
        try:
            spec = importlib.util.spec_from_file_location("solution", self.path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["solution"] = module
            spec.loader.exec_module(module)
            self.module = module
            header["names"] = {k: _kind(v) for k, v in vars(module).items() if not k.startswith("__")}
        except SyntaxError as error:
            header = {"status": "load_error", "type": type(error).__name__,
                      "message": str(error.msg), "line": error.lineno, "text": (error.text or "").rstrip()}
        except BaseException as error:  # anything at import time, SystemExit included
            header = {"status": "load_error", **self._error_fields(error)}
        self.recorder.take()
        self.send(header)

    # -- the loop --------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                data = self.conn.recv_bytes(MAX_REQUEST_BYTES)
            except (EOFError, OSError):
                return
            header, values = wire.decode_message(data, device_ok=self.device_ok)
            op = header.get("op")
            self.stage = self.made = None
            kept, self.kept = self.kept, None   # a kept graph serves the very next request only
            try:
                if op == "call":
                    reply, out = self.call(header, values)
                elif op == "backward":
                    reply, out = self.backward(header, values, kept)
                elif op == "new":
                    reply, out = self.new(header, values)
                elif op == "load_state_dict":
                    obj = self.objects[header["obj"]]
                    obj.load_state_dict(values["state"], strict=header.get("strict", True))
                    reply, out = {"status": "ok"}, {}
                elif op == "state_dict":
                    obj = self.objects[header["obj"]]
                    reply, out = {"status": "ok"}, {"state": dict(obj.state_dict())}
                else:
                    reply, out = {"status": "protocol", "message": f"unknown op {op!r}"}, {}
                cuda.synchronize(self.on_cuda)   # a kernel's error surfaces here, charged to this call
            except BaseException as error:  # the submission's exception, reported as data
                reply, out = {"status": "error", **self._error_fields(error)}, {}
                if self.stage is not None:
                    reply["stage"] = self.stage
            if self.made is not None:
                reply["obj"] = self.made
            reply["banned"] = self.recorder.take()
            if self.on_cuda and reply["status"] == "error" and cuda.fatal(str(reply.get("message", ""))):
                reply["restart"] = True   # this process's CUDA context is lost: answer, then end
                self.send(reply, {})
                os._exit(0)
            self.send(reply, out)

    def send(self, header: dict[str, Any], values: dict[str, Any] | None = None) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.conn.send_bytes(wire.encode_message(header, values))

    # -- ops -------------------------------------------------------------------
    def _target(self, header: dict[str, Any]):
        target = header["target"]
        if "obj" in target:
            obj = self.objects[target["obj"]]
            method = target.get("method", "__call__")
            return obj if method == "__call__" else getattr(obj, method)
        name = target["name"]
        if not hasattr(self.module, name):
            raise _Missing(name)
        return getattr(self.module, name)

    def new(self, header, values):
        cls = self._target({"target": {"name": header["name"]}})
        obj = cls(*values.get("args", ()), **values.get("kwargs", {}))
        key = len(self.objects) + 1
        self.objects[key] = obj
        return {"status": "ok", "obj": key, "info": _describe(obj)}, {}

    def build(self, build, values) -> int:
        """Make, convert and load the object of a ``call`` with ``build``; tell the grader it is made."""
        self.stage = "new"
        cls = self._target({"target": {"name": build["name"]}})
        made = values.get("build") or {}
        obj = cls(*made.get("args", ()), **made.get("kwargs", {}))
        key = self.made = len(self.objects) + 1
        self.objects[key] = obj
        if build.get("convert"):
            self.stage = "convert"
            getattr(obj, build["convert"])()
        if "state" in values:
            self.stage = "load"
            obj.load_state_dict(values["state"])
        self.stage = "call"
        self.send({"status": "built", "obj": key, "banned": self.recorder.take()})
        return key

    def call(self, header, values):
        if header.get("build"):
            header["target"] = {**header["target"], "obj": self.build(header["build"], values)}
            values.pop("state", None)
        fn = self._target(header)
        args = list(values.get("args", ()))
        kwargs = dict(values.get("kwargs", {}))
        grad = header.get("grad")
        owner = self.objects.get(header["target"].get("obj")) if "obj" in header["target"] else None
        if "state" in values and owner is not None:
            self.stage = "load"
            owner.load_state_dict(values["state"])
            self.stage = "call"
        given = (list(args), dict(kwargs)) if header.get("echo_inputs") else None
        leaves = {}
        if grad:
            for index in grad.get("wrt", ()):
                leaf = args[index].detach().clone().requires_grad_(True)
                args[index] = leaf
                leaves[index] = leaf
            if isinstance(owner, torch.nn.Module):
                for p in owner.parameters():
                    p.grad = None
        counter = OpCounter() if header.get("count_ops") else None
        with calm.held(owner) if header.get("calm") else contextlib.nullcontext():
            if counter is not None:
                with counter:
                    result = fn(*args, **kwargs)
            else:
                result = fn(*args, **kwargs)
        reply: dict[str, Any] = {"status": "ok"}
        out: dict[str, Any] = {"result": result}
        if counter is not None:
            reply["aten_ops"] = counter.count
        if grad:
            reply["graph"] = _back_propagate(result, values.get("grad_outputs", ()))
            out["input_grads"] = {str(i): leaf.grad for i, leaf in leaves.items()}
            if isinstance(owner, torch.nn.Module) and grad.get("params"):
                out["param_grads"] = {n: p.grad for n, p in owner.named_parameters()}
        if given is not None:
            # The very objects the submission received, as they are now: the grader
            # compares them with what it sent to see whether anything was modified.
            out["inputs_after"] = {"args": given[0], "kwargs": given[1]}
        if header.get("keep") and owner is not None and not grad:
            self.kept = (owner, result)
        return reply, out

    def backward(self, header, values, kept):
        """Back-propagate the grader's ``grad_outputs`` through the outputs the previous call kept; reply
        with the parameters' gradients (``graph``: whether any output was part of a graph)."""
        owner = self.objects.get(header.get("obj"))
        if kept is None or owner is None or kept[0] is not owner:
            return {"status": "protocol", "message": "backward must follow a call of the same object that kept "
                                                    "its graph"}, {}
        if isinstance(owner, torch.nn.Module):
            for p in owner.parameters():
                p.grad = None
        graph = _back_propagate(kept[1], values.get("grad_outputs", ()))
        out = {"param_grads": {n: p.grad for n, p in owner.named_parameters()}
               if isinstance(owner, torch.nn.Module) else {}}
        return {"status": "ok", "graph": graph}, out

    def _error_fields(self, error: BaseException) -> dict[str, Any]:
        if isinstance(error, _Missing):
            return {"status": "missing", "name": error.name}
        frames = []
        for frame in traceback.extract_tb(error.__traceback__):
            if os.path.abspath(frame.filename) == os.path.abspath(self.path):
                source = frame.line or linecache.getline(frame.filename, frame.lineno).strip()
                frames.append({"line": frame.lineno, "function": frame.name, "source": source})
        kind = type(error)
        return {
            "type": kind.__name__,
            "message": wire.safe_repr(error.args[0]) if isinstance(error, KeyError) and error.args
            else _message(error),
            "frames": frames[-20:],
            "not_implemented": isinstance(error, NotImplementedError),
            "exit": isinstance(error, SystemExit),
            "memory": isinstance(error, MemoryError) or "out of memory" in _message(error).lower()
            or "DefaultCPUAllocator: can't allocate memory" in _message(error),
        }


def _back_propagate(result: Any, grad_outputs) -> bool:
    """Back-propagate ``grad_outputs`` (one per returned value, None to skip) through ``result``; whether any
    output was part of an autograd graph.

    It back-propagates from ``(output * grad_output).sum()`` for each output, as :mod:`grader.kit.autograd`
    does for the grader's references: the product's gradient for the output is ``1 * grad_output``, which
    is ``grad_output`` exactly, and from there on it is the backward pass of
    ``torch.autograd.backward(outputs, grad_outputs)``, without torch's check of given gradients, whose
    first use imports SymPy (half a second of the forkserver's start, before any child can fork). A
    gradient of another shape is refused with torch's own words.
    """
    outputs = result if type(result) is tuple else (result,)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
             if g is not None and type(o) is torch.Tensor and o.requires_grad]
    for index, (output, grad) in enumerate(pairs):
        if tuple(grad.shape) != tuple(output.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {grad.shape} and "
                               f"output[{index}] has a shape of {output.shape}.")
    if pairs:
        torch.autograd.backward([(o * g.to(o.dtype)).sum() for o, g in pairs])
    return bool(pairs)


class _Missing(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _message(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:
        return f"<{type(error).__name__} with an unprintable message>"


def _kind(value: Any) -> str:
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return type(value).__name__


def _describe(obj: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"type": wire.type_name(obj), "is_module": isinstance(obj, torch.nn.Module)}
    if isinstance(obj, torch.nn.Module):
        children = {}
        for name, child in obj.named_children():
            entry: dict[str, Any] = {"type": wire.type_name(child)}
            if isinstance(child, torch.nn.Linear):
                entry.update(in_features=child.in_features, out_features=child.out_features,
                             bias=child.bias is not None)
            children[name] = entry
        info["children"] = children
        info["parameters"] = {n: [list(p.shape), wire.TORCH_DTYPE_NAMES.get(p.dtype, str(p.dtype))]
                              for n, p in obj.named_parameters()}
        info["buffers"] = [n for n, _ in obj.named_buffers()]
    return info
