"""What the child records about the submission while it runs: banned calls, aten op counts.

Untrusted side (see :mod:`grader.sandbox.child`): both are advisory. The grader
finds banned calls in the source itself, and no points depend on what is
recorded here.
"""

from __future__ import annotations

import sys

import torch
import torch.utils._python_dispatch


class BannedRecorder:
    """Wraps banned callables so a call is recorded (and still works).

    A name is dotted from ``torch`` (``torch.nn.functional.softmax``) or starts with
    ``Tensor.`` for a tensor method. Classes are recorded when instantiated.
    """

    def __init__(self, names) -> None:
        self.hits: set[str] = set()
        for name in names:
            self._wrap(name)

    def _wrap(self, name: str) -> None:
        parts = name.split(".")
        if parts[0] == "Tensor":
            parts = ["torch", *parts]
        if len(parts) < 2 or parts[0] not in ("torch", "scipy", "numpy"):
            return
        try:
            owner = sys.modules.get(parts[0]) or __import__(parts[0])
            for part in parts[1:-1]:
                owner = getattr(owner, part)
            original = getattr(owner, parts[-1])
        except (AttributeError, ImportError):
            return
        hits = self.hits
        if isinstance(original, type):
            init = original.__init__

            def recording_init(self, *args, __init=init, **kwargs):
                hits.add(name)
                return __init(self, *args, **kwargs)

            original.__init__ = recording_init
            return

        def recording(*args, __original=original, **kwargs):
            hits.add(name)
            return __original(*args, **kwargs)

        recording.__name__ = getattr(original, "__name__", parts[-1])
        recording.__doc__ = getattr(original, "__doc__", None)
        try:
            setattr(owner, parts[-1], recording)
        except (AttributeError, TypeError):
            pass

    def take(self) -> list[str]:
        hits = sorted(self.hits)
        self.hits.clear()
        return hits


class OpCounter(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts aten operations (advisory: shows whether work grows with the batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Otherwise torch wraps __torch_dispatch__ in torch._dynamo.disable, and
        # the first call imports all of torch._dynamo: a second of every grade.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def _warm_up() -> None:
    """Pay the first-use costs once, in the forkserver, instead of in every child.

    Entering a TorchDispatchMode for the first time initialises its machinery; so does the first
    backward pass (the child's, from a scalar: the server's ``_back_propagate`` never hands torch
    output gradients, whose first check imports SymPy). One intra-op thread and two-element
    tensors keep the forkserver free of OpenMP worker threads (a backward pass on the CPU runs in
    the calling thread), so forking it stays safe.
    """
    global WARM_UP_BYTES
    torch.set_num_threads(1)
    with OpCounter():
        torch.ones(2) + 1
    before = _address_space()
    leaf = torch.ones(2, requires_grad=True)
    torch.autograd.backward([(leaf * 2 * torch.ones(2)).sum()])
    WARM_UP_BYTES = max(0, _address_space() - before)


WARM_UP_BYTES = 0   # address space the warm-up mapped (in the forkserver, before forking): the child's limit adds it back


def _address_space() -> int:
    """This process's mapped address space in bytes (VmSize), 0 where /proc cannot say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        pass
    return 0


_warm_up()
