"""Tolerance policy and mismatch descriptions: is the student's tensor right, and if not, how wrong.

Part of the check kit (:mod:`grader.kit`).

The policy is an error budget, not one fixed ``atol``. Both the student's result
and the reference's are computed in the input's dtype and device; each is
compared with a float64 oracle. The student may be wrong by at most ``FUDGE``
times the reference's own greatest error, plus a floor that depends on the dtype
(``FLOORS``), per element::

    |got - oracle| <= fudge * max|ref - oracle| + atol + rtol * |oracle|

so float16, bfloat16 and long reductions are judged by what the dtype can do,
and a correct float32 answer is never failed by a float64-tight bound.

Every failure raises :class:`~grader.errors.CheckFailure` with a message in the
shape of ``torch.testing.assert_close``'s: attributes first, then
"Mismatched elements", then the greatest absolute and relative differences with
their indices and what was allowed there.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from grader import errors, results, wire

# dtype -> (atol, rtol): the floor below which differences never count.
FLOORS: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-10, 1e-9),
    torch.float32: (1e-6, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (8e-3, 8e-3),
}
# budget -> multiple of the reference's own error the student may have: outputs, or gradients
# (whose reference error is itself a sum of rounding errors along the backward pass).
FUDGE = {"output": 4.0, "grad": 8.0}
SMALL_TENSOR = 64  # elements: show expected and got in full up to this size

MSG_NOT_CLOSE = "Wrong values in {name}."
MSG_SHAPE = "{name} has shape {got}, expected {expected}."
MSG_DTYPE = "{name} has dtype {got}, expected {expected} (the dtype of the inputs)."
MSG_DEVICE = "{name} is on device {got}, expected {expected} (the device of the inputs)."
HINT_DEVICE = ("Keep every tensor on the inputs' device: create new ones with device=x.device (or "
               "torch.zeros_like(x), x.new_zeros(...)), and do not go through NumPy (.cpu().numpy() and back) "
               "or call .cpu() / .cuda() yourself.")
MSG_PROMOTED = ("Your {dtype} input comes out float32: a tensor made without dtype= is float32, PyTorch's "
                "default (torch.tensor(0.0), torch.where(mask, 0.0, float('-inf')), torch.zeros(n)), and "
                "arithmetic with it promotes {dtype} to float32; so does a .float() never cast back.")
HINT_PROMOTED = "Make new tensors in the input's dtype: dtype=x.dtype, torch.zeros_like(x), x.new_full(...)."
MSG_TYPE = "{name} should be a {expected}, got {got}."
MSG_NAN = "{name} contains NaN or inf at index {index}, where the expected value is {expected:.4g}."


def describe_type(value: Any) -> str:
    if isinstance(value, wire.Opaque):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return "torch.Tensor"
    if isinstance(value, np.ndarray):
        return "numpy.ndarray"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if value is None:
        return "None"
    return type(value).__name__


def expect_tuple(value: Any, names: Sequence[str], *, what: str) -> tuple:
    """``value`` must be a tuple (or list) of ``len(names)`` items."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        raise errors.WrongType(
            f"{what} should return a tuple ({', '.join(names)}), got {describe_type(value)}.")
    return tuple(value)


def expect_tensor(value: Any, *, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    """``value`` must be a plain torch tensor (of ``like``'s shape, dtype and device)."""
    if not isinstance(value, torch.Tensor):
        raise errors.WrongType(MSG_TYPE.format(name=name, expected="torch.Tensor", got=describe_type(value)))
    if like is not None:
        check_attributes(value, like, name=name)
    return value


def expect_array(value: Any, *, name: str, like: np.ndarray | None = None) -> np.ndarray:
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise errors.WrongType(MSG_TYPE.format(name=name, expected="numpy.ndarray", got=describe_type(value)))
    if like is not None:
        if value.shape != like.shape:
            raise errors.CheckFailure(MSG_SHAPE.format(name=name, got=value.shape, expected=like.shape))
        if value.dtype != like.dtype:
            raise errors.CheckFailure(MSG_DTYPE.format(name=name, got=value.dtype, expected=like.dtype))
    return value


def check_attributes(got: torch.Tensor, like: torch.Tensor, *, name: str) -> None:
    if tuple(got.shape) != tuple(like.shape):
        raise errors.CheckFailure(MSG_SHAPE.format(name=name, got=tuple(got.shape), expected=tuple(like.shape)))
    if got.dtype != like.dtype:
        promoted = got.dtype == torch.float32 and like.dtype in (torch.float16, torch.bfloat16)
        raise errors.CheckFailure(MSG_DTYPE.format(name=name, got=got.dtype, expected=like.dtype),
                                  diagnosis=MSG_PROMOTED.format(dtype=str(like.dtype).removeprefix("torch."))
                                  if promoted else None, hint=HINT_PROMOTED if promoted else None)
    got_device, expected_device = wire.claimed_device(got), str(like.device)
    if got_device != expected_device:
        raise errors.CheckFailure(MSG_DEVICE.format(name=name, got=got_device, expected=expected_device),
                                  hint=HINT_DEVICE)


def _as_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return torch.from_numpy(np.asarray(value).copy())
    return value


BUDGETS = "_kit_budgets"   # the attribute of a shared tensor that holds the budgets computed with it as ref


def remember_budgets(value: Any) -> None:
    """Remember the budgets of the tensors in ``value`` (alone, or in tuples, lists and dicts): an oracle
    pair that :func:`~grader.kit.steps.oracle_pair` keeps for the whole process, which nobody changes in
    place. ``allowed_error(ref, oracle)`` with both of them among such tensors is then computed once;
    the budgets live as long as ``ref`` does. A tensor changed in place after all (its version moved) has
    its budget computed again."""
    if isinstance(value, torch.Tensor):
        if getattr(value, BUDGETS, None) is None:
            setattr(value, BUDGETS, {})
    elif type(value) in (tuple, list):
        for v in value:
            remember_budgets(v)
    elif type(value) is dict:
        for v in value.values():
            remember_budgets(v)


def allowed_error(ref: Any, oracle: Any, *, budget: str = "output") -> torch.Tensor:
    """Per-element absolute error the student may have (see the module docstring)."""
    allowed, shared = _budget(ref, oracle, budget)
    return _own(allowed) if shared else allowed


def _own(allowed: torch.Tensor) -> torch.Tensor:
    """The caller's own copy of a remembered budget (a check may scale it in place)."""
    return allowed.clone()


def _budget(ref: Any, oracle: Any, budget: str) -> tuple[torch.Tensor, bool]:
    """:func:`allowed_error`'s tensor, and whether it is the one remembered (shared: never change it)."""
    memo = getattr(ref, BUDGETS, None) if type(ref) is torch.Tensor and type(oracle) is torch.Tensor else None
    if memo is None or getattr(oracle, BUDGETS, None) is None:
        return _compute_budget(ref, oracle, budget), False
    key = (budget, id(oracle))
    versions = (ref._version, oracle._version)
    found = memo.get(key)
    if found is not None and _still(found, oracle is ref, oracle, versions):
        return found[2], True
    allowed = _compute_budget(ref, oracle, budget)
    memo[key] = (None if oracle is ref else oracle, versions, allowed)   # ref holds oracle (not itself)
    return allowed, True


def _still(found: tuple, itself: bool, oracle: torch.Tensor, versions: tuple[int, int]) -> bool:
    """Whether a remembered budget is for this oracle, and neither tensor was changed in place since."""
    return (found[0] is None if itself else found[0] is oracle) and found[1] == versions


def _compute_budget(ref: Any, oracle: Any, budget: str) -> torch.Tensor:
    ref, oracle = _as_tensor(ref), _as_tensor(oracle).to(torch.float64).cpu()
    atol, rtol = FLOORS.get(ref.dtype, FLOORS[torch.float32])
    ref64 = ref.detach().cpu().to(torch.float64)
    finite = torch.isfinite(oracle) & torch.isfinite(ref64)
    own = (ref64 - oracle).abs()[finite]
    own_error = FUDGE[budget] * (float(own.max()) if own.numel() else 0.0)
    return own_error + atol + rtol * oracle.abs().nan_to_num(0.0, 0.0, 0.0)


def mismatch(got: Any, oracle: Any, allowed: torch.Tensor, *, name: str) -> results.Mismatch | None:
    """Describe where ``got`` exceeds ``allowed``; None if it does not."""
    got_t = _as_tensor(got)
    got64, oracle64 = _float64(got_t), _float64(_as_tensor(oracle))
    diff = (got64 - oracle64).abs()
    if _plainly_within(diff, allowed):
        return None
    return _describe(got_t, got64, oracle64, diff, allowed, name=name)


def _float64(t: Any) -> torch.Tensor:
    return t.detach().cpu().to(torch.float64)


def _plainly_within(diff: torch.Tensor, allowed: Any) -> bool:
    """Most comparisons pass: where every difference is a number within what is allowed, the full way
    (:func:`_exceeding`) finds nothing beyond it either. A NaN or an inf difference, or one beyond, takes
    the full way."""
    return bool((diff <= allowed).all())


def _exceeding(got64: torch.Tensor, oracle64: torch.Tensor, diff: torch.Tensor,
               allowed: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(the differences that count: 0 where both are the same inf or both NaN, inf where one is NaN or
    inf; where they exceed ``allowed``)."""
    same_special = (got64 == oracle64) | (torch.isnan(got64) & torch.isnan(oracle64))
    diff = torch.where(same_special, torch.zeros_like(diff), diff.nan_to_num(float("inf"), float("inf")))
    return diff, diff > allowed


def _describe(got_t: Any, got64: torch.Tensor, oracle64: torch.Tensor, diff: torch.Tensor, allowed: Any, *,
              name: str) -> results.Mismatch | None:
    """The whole description of a mismatch, or None where nothing exceeds ``allowed``."""
    device = wire.claimed_device(got_t) if isinstance(got_t, torch.Tensor) else "cpu"
    diff, bad = _exceeding(got64, oracle64, diff, allowed)
    count = int(bad.sum())
    if count == 0:
        return None
    flat = int(torch.argmax(diff.reshape(-1)))
    index = _unravel(flat, tuple(got64.shape))
    # Relative to a nonzero expected value only (where it is 0, a relative difference is infinite, as
    # torch.testing says); it is infinite only when every mismatch is at an expected 0.
    nonzero = oracle64 != 0
    rel = torch.where(bad & nonzero, diff / oracle64.abs().clamp_min(torch.finfo(torch.float64).tiny),
                      torch.zeros_like(diff))
    if not bool((bad & nonzero).any()):
        rel = torch.where(bad, torch.full_like(diff, float("inf")), rel)
    flat_rel = int(torch.argmax(rel.reshape(-1)))
    small = got64.numel() <= SMALL_TENSOR
    return results.Mismatch(
        name=name,
        shape=tuple(got64.shape),
        dtype=str(getattr(got_t, "dtype", "")).replace("torch.", ""),
        device=device,
        mismatched=count,
        total=int(got64.numel()),
        max_abs=float(diff.reshape(-1)[flat]),
        max_abs_index=index,
        max_rel=float(rel.reshape(-1)[flat_rel]),
        max_rel_index=_unravel(flat_rel, tuple(got64.shape)),
        allowed_abs=float(allowed.expand_as(diff).reshape(-1)[flat]) if allowed.numel() else 0.0,
        expected=_nested(oracle64) if small else None,
        got=_nested(got64) if small else None,
    )


def assert_close(got: Any, *, oracle: Any, ref: Any, name: str, budget: str = "output",
                 diagnose: Callable[[Any], str | None] | None = None,
                 figures: Callable[[Any], tuple] | None = None, hint: str | None = None,
                 slack: float = 1.0) -> None:
    """Fail unless ``got`` is within the error budget of ``oracle``.

    ``ref`` is the reference result in the same dtype as ``got`` (it sets the budget);
    ``budget`` is ``"output"`` or ``"grad"`` (see ``FUDGE``); ``slack`` multiplies it (for a
    dtype whose every operation rounds, such as NumPy's float16). ``diagnose`` maps the wrong
    value to a known mistake's message, or None.
    """
    allowed, _ = _budget(ref, oracle, budget)
    m = mismatch(got, oracle, allowed * slack if slack != 1.0 else allowed, name=name)
    if m is None:
        return
    got_t = _as_tensor(got)
    nonfinite = ~torch.isfinite(got_t.detach().cpu().to(torch.float64))
    expected_finite = torch.isfinite(_as_tensor(oracle).detach().cpu().to(torch.float64))
    summary = MSG_NOT_CLOSE.format(name=name)
    if bool((nonfinite & expected_finite).any()):
        where = _unravel(int(torch.nonzero((nonfinite & expected_finite).reshape(-1))[0]), tuple(got_t.shape))
        expected_value = float(_as_tensor(oracle).detach().cpu().to(torch.float64)[where])
        summary = MSG_NAN.format(name=name[:1].upper() + name[1:], index=where, expected=expected_value)
    raise errors.CheckFailure(
        summary,
        diagnosis=diagnose(got) if diagnose else None,
        mismatch=m,
        figures=figures(got) if figures else (),
        hint=hint,
    )


def matches(got: Any, candidate: Any, allowed: torch.Tensor) -> bool:
    """True if ``got`` equals ``candidate`` (a known mistake's output) within ``allowed``."""
    got_t, cand = _as_tensor(got), _as_tensor(candidate)
    if not isinstance(got_t, torch.Tensor) or tuple(got_t.shape) != tuple(cand.shape):
        return False
    allowed = _as_tensor(allowed) if not isinstance(allowed, (int, float)) else torch.tensor(float(allowed))
    if allowed.shape != got_t.shape and allowed.dim() and not _broadcastable(tuple(allowed.shape),
                                                                            tuple(got_t.shape)):
        allowed = allowed.max()   # a tolerance of the right answer's shape, for an answer of another: its largest
    got64, cand64 = _float64(got_t), _float64(cand)
    diff = (got64 - cand64).abs()
    # mismatch(...) is None, without describing the mismatch most candidates have
    return _plainly_within(diff, allowed) or not bool(_exceeding(got64, cand64, diff, allowed)[1].any())


def _broadcastable(first: tuple[int, ...], second: tuple[int, ...]) -> bool:
    """Whether torch.broadcast_shapes(first, second) succeeds: each trailing pair of sizes is equal or has a 1.

    Not torch.broadcast_shapes itself: its first call imports torch.fx's symbolic shapes and SymPy
    (most of a second of every cold grade).
    """
    return all(a == b or a == 1 or b == 1 for a, b in zip(reversed(first), reversed(second)))


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat % size if size else 0)
        flat //= size if size else 1
    return tuple(reversed(index))


def _nested(t: torch.Tensor) -> Any:
    def fix(x):
        if isinstance(x, list):
            return tuple(fix(v) for v in x)
        return float(x)
    return fix(t.tolist())
