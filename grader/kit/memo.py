"""What the kit remembers per grading process instead of computing again: input tensors.

An input bundle (:mod:`grader.kit.strategies`) builds its tensors from its seed on every
call of ``.tensors()`` or ``.state_dict()``; a check asks for them several times per
example (to build the module, to call it, for the oracle, for the diagnosis), and every
student of a class draws the same examples. :func:`remembered` builds them once per
(bundle, arguments, device) and hands out fresh copies of what it built: the values,
dtypes, shapes, strides and devices of a new build, and the same tensors shared where a
new build shares them (``key = value = query`` for self-attention). A check that changes
what it got in place (or sets ``requires_grad``) changes its copy only.

The memory is bounded by bytes (:data:`INPUTS_BYTES`), least recently used first out.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

import numpy as np
import torch

INPUTS_BYTES = 32 << 20   # per process: a class's examples of 02 take about 10 MiB

_kept: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
_size = [0]
_inside = threading.local()
_stats = {"hits": 0, "misses": 0}


class _Unkeyable(Exception):
    """An argument whose value cannot be told exactly by a key (a list, a tensor): built afresh."""


def remembered(where: Callable[[], Hashable]) -> Callable[[Callable], Callable]:
    """Remember ``make``'s results per (its arguments, ``where()``): ``where`` names what else decides
    them (the device the running check is on). Calls made while another remembered function builds
    its result are not remembered (that one is, whole)."""
    def decorate(make: Callable) -> Callable:
        name = f"{make.__module__}.{make.__qualname__}"

        @functools.wraps(make)
        def remembering(*args: Any, **kwargs: Any) -> Any:
            if getattr(_inside, "depth", 0):
                return make(*args, **kwargs)
            try:
                key = (name, _key(args), _key(tuple(sorted(kwargs.items()))), where())
            except _Unkeyable:
                return make(*args, **kwargs)
            found = _kept.get(key)
            if found is None:
                _stats["misses"] += 1
                _inside.depth = 1
                try:
                    built = make(*args, **kwargs)
                finally:
                    _inside.depth = 0
                if not _keepable(built):
                    return built
                _keep(key, built)
                return fresh(built)
            _stats["hits"] += 1
            _kept.move_to_end(key)
            return fresh(found[0])
        return remembering
    return decorate


_PLAIN = frozenset({int, bool, str, type(None), torch.dtype})
_FROZEN: dict[type, tuple[str, ...] | None] = {}   # a frozen dataclass's field names; None: not one


def _key(value: Any) -> Hashable:
    """An exact key for ``value``: equal keys only for values that build the very same tensors (1, 1.0
    and True differ; so do 0.0 and -0.0)."""
    kind = type(value)
    if kind in _PLAIN:
        return (kind, value)
    if kind is float:
        return (float, value.hex())
    if kind is tuple or kind is torch.Size:
        return (kind, tuple([_key(v) for v in value]))
    names = _FROZEN.get(kind, ())
    if names == ():
        params = getattr(kind, "__dataclass_params__", None)
        names = _FROZEN[kind] = tuple(getattr(kind, "__dataclass_fields__", ())) \
            if params is not None and params.frozen else None
    if names is not None:
        return (kind, tuple([_key(getattr(value, f)) for f in names]))
    if isinstance(value, np.dtype):
        return (kind, value)
    raise _Unkeyable(kind.__name__)


def _keep(key: Hashable, built: Any) -> None:
    size = _nbytes(built)
    if size > INPUTS_BYTES // 8:
        return  # one huge input would push out everything else
    _kept[key] = (built, size)
    _size[0] += size
    while _size[0] > INPUTS_BYTES and _kept:
        _, (_, dropped) = _kept.popitem(last=False)
        _size[0] -= dropped


def _keepable(value: Any) -> bool:
    """Plain tensors that need no gradient and arrays, alone or in tuples, lists and dicts (what bundles
    build); anything else is handed out as built, never shared."""
    if isinstance(value, torch.Tensor):
        return type(value) is torch.Tensor and not value.requires_grad
    if type(value) in (tuple, list):
        return all(_keepable(v) for v in value)
    if type(value) is dict:
        return all(_keepable(v) for v in value.values())
    return value is None or type(value) in (np.ndarray, int, float, bool, str)


def _nbytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size() + 64
    if isinstance(value, np.ndarray):
        return value.nbytes + 64
    if type(value) in (tuple, list):
        return sum(_nbytes(v) for v in value) + 64
    if type(value) is dict:
        return sum(_nbytes(v) for v in value.values()) + 64
    return 64


def fresh(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A copy of ``value`` (tensors and arrays, alone or in tuples, lists and dicts) that shares no memory
    with it; a tensor found twice is copied once, so what was one tensor stays one."""
    kind = type(value)
    if kind is torch.Tensor or kind is np.ndarray:
        memo = {} if memo is None else memo
        copy = memo.get(id(value))
        if copy is None:
            copy = memo[id(value)] = _copy_tensor(value) if kind is torch.Tensor else value.copy(order="K")
        return copy
    if kind is tuple or kind is list:
        memo = {} if memo is None else memo
        return kind([fresh(v, memo) for v in value])
    if kind is dict:
        memo = {} if memo is None else memo
        return {k: fresh(v, memo) for k, v in value.items()}
    return value


def _copy_tensor(t: torch.Tensor) -> torch.Tensor:
    copy = t.clone()   # the same strides where t is dense; a view with gaps comes out contiguous...
    if copy.stride() != t.stride() and not _broadcast(t):
        # ...so it is given t's strides again (a broadcast view's cannot be: they name one element twice)
        copy = torch.empty_strided(t.size(), t.stride(), dtype=t.dtype, device=t.device).copy_(t)
    return copy


def _broadcast(t: torch.Tensor) -> bool:
    """Whether ``t`` names one element at several indices (a stride of 0 along a dimension of size > 1)."""
    return any(s == 0 and n > 1 for n, s in zip(t.size(), t.stride()))


def forget() -> None:
    """Drop everything remembered (tests)."""
    _kept.clear()
    _size[0] = 0


def stats() -> dict[str, int]:
    """Hits, misses, entries and bytes kept in this process (benchmarks)."""
    return {**_stats, "entries": len(_kept), "bytes": _size[0]}
