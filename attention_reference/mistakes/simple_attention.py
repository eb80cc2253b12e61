"""Known mistakes in 00_simple_attention (NumPy), as variants of the reference computation.

``compute(...)`` is batched dot-product attention with switches. ``simple_attention`` is
the same computation on one query row with no scale, so its mistakes (``SIMPLE``) are
run through ``run_simple`` and those of ``scaled_dot_product_attention`` (``SDPA``)
through ``run_sdpa``. Mistakes are computed in the inputs' floating dtype.
"""

from __future__ import annotations

import math

import numpy as np

from attention_reference.mistakes import Mistake

_NO_MAX = ("Without subtracting the largest score first, exp overflows for large scores (inf / inf = NaN): "
           "use exp(s - max(s)).")
_KEYS_AS_VALUES = "The weights were applied to the keys; the output is weights @ values."
_FLOAT32 = ("Your float64 result is only as accurate as float32: it was computed in float32 and cast back "
            "(an astype(np.float32) on the way).")
_FLOAT32_HINT = "Compute in the inputs' floating dtype throughout."

SIMPLE = (
    Mistake("scaled_simple", "simple_attention is unscaled: use keys @ query without dividing by sqrt(d).",
            {"scale": "sqrt"},
            hint='simple_attention is unscaled: scores = keys @ query.'),
    Mistake("no_max", _NO_MAX, {"shift": "none"},
            hint='Subtract the largest score before np.exp: np.exp(s - s.max(axis=-1, keepdims=True)).'),
    Mistake("keys_as_values", _KEYS_AS_VALUES, {"values_from": "key"},
            hint='Return weights @ values.'),
    Mistake("unnormalised", "The weights were not normalised: divide exp(scores) by their sum.",
            {"normalise": False},
            hint='Divide by the sum: e / e.sum(axis=-1, keepdims=True).'),
    Mistake("computed_in_float32", _FLOAT32, {}, hint=_FLOAT32_HINT, precision="float32"),
)

SDPA = (
    Mistake("no_scale", "The scores are not scaled: divide Q K^T by sqrt(d_k).", {"scale": "none"},
            hint='Divide the scores by math.sqrt(d_k).'),
    Mistake("scale_by_d", "The scores are divided by d_k instead of sqrt(d_k).", {"scale": "d"},
            hint='Divide by math.sqrt(d_k), not by d_k.'),
    Mistake("softmax_query_axis", "The softmax was taken over the queries (axis=-2) instead of the keys "
            "(axis=-1).", {"softmax_axis": -2},
            hint='Normalise over the keys: max and sum over axis=-1 with keepdims=True.'),
    Mistake("softmax_axis_1", "Your softmax runs over axis 1, which is the keys' axis only for 2-D scores: "
            "with one batch axis in front it runs over the queries, with two over a batch axis "
            "(np.apply_along_axis(softmax, 1, ...) and sum(axis=1) do this).", {"softmax_axis": 1},
            hint="Normalise over the last axis, whatever the rank: max and sum over axis=-1 with keepdims=True."),
    Mistake("softmax_2d_only", "Your softmax handles only 1-D and 2-D arrays: batched scores (3-D and more) "
            "come back as they went in, with no softmax at all.", {"normalise": "2d_only"},
            hint="Write the softmax for any rank: max and sum over axis=-1 with keepdims=True, no branch on ndim."),
    Mistake("key_T", "key.T reverses every axis of a batched array; transpose only the last two: "
            "np.swapaxes(key, -1, -2).", {"transpose": "T"},
            hint='Transpose only the last two axes: np.swapaxes(key, -1, -2).'),
    Mistake("no_max", _NO_MAX, {"shift": "none"}),
    Mistake("global_max", "You subtracted one max over the whole array instead of each row's max "
            "(max(axis=-1, keepdims=True)): rows far below it underflow to 0 / 0.", {"shift": "global"},
            hint="Take each row's max: s.max(axis=-1, keepdims=True)."),
    Mistake("keys_as_values", _KEYS_AS_VALUES, {"values_from": "key"}),
    Mistake("scale_after_softmax", "The 1/sqrt(d_k) scale is applied to the weights after the softmax instead "
            "of to the scores: every row of weights sums to 1/sqrt(d_k), not 1.", {"scale": "after_softmax"},
            hint="Divide the scores, not the weights: softmax(Q K^T / sqrt(d_k))."),
    Mistake("computed_in_float32", _FLOAT32, {}, hint=_FLOAT32_HINT, precision="float32"),
    Mistake("float32_scale_constant", "Your scale is a float32 constant (np.float32(np.sqrt(d))): float64 "
            "scores divided by a float32-rounded sqrt(d_k) are only as accurate as float32, and float16 "
            "input comes out float32.", {"scale": "sqrt_float32"},
            hint="Divide by a Python float, math.sqrt(d): it keeps every floating dtype."),
)

MISTAKES = SIMPLE + tuple(m for m in SDPA if m.id not in {s.id for s in SIMPLE})


def run_simple(mistake: Mistake, query, keys, values) -> tuple[np.ndarray]:
    """simple_attention's output, as a 1-tuple, for a submission that makes ``mistake``."""
    return simple(query, keys, values, **mistake.switches)


def simple(query, keys, values, **switches) -> tuple[np.ndarray]:
    """simple_attention's output, as a 1-tuple, with ``switches`` (unscaled unless they say otherwise)."""
    out, _ = compute(np.asarray(query)[None, :], keys, values, **{"scale": "none", **switches})  # (1, dv)
    return (out[0],)


def run_sdpa(mistake: Mistake, query, key, value) -> tuple[np.ndarray, np.ndarray]:
    """scaled_dot_product_attention's (output, weights) for a submission that makes ``mistake``."""
    return compute(query, key, value, **mistake.switches)


def compute(query, key, value, *, scale="sqrt", softmax_axis=-1, transpose="swapaxes", shift="max",
            values_from="value", normalise=True):
    """Attention with switches; the defaults give scaled_dot_product_attention.

    Shapes: query (..., Lq, d), key (..., Lk, d), value (..., Lk, dv).
    Returns (output (..., Lq, dv), weights (..., Lq, Lk)).
    """
    query, key, value = np.asarray(query), np.asarray(key), np.asarray(value)
    dtype = np.result_type(query, key, value)
    dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    d = query.shape[-1]
    with np.errstate(all="ignore"):
        key_t = key.T if transpose == "T" else np.swapaxes(key, -1, -2)     # (..., d, Lk)
        divisor = {"sqrt": math.sqrt(d), "none": 1.0, "d": float(d), "after_softmax": 1.0,
                   "sqrt_float32": float(np.float32(np.sqrt(d)))}[scale]
        scores = (query @ key_t) / divisor                                  # (..., Lq, Lk)
        if shift == "max":
            m = scores.max(axis=softmax_axis, keepdims=True)
        elif shift == "global":
            m = scores.max()
        else:
            m = 0.0
        e = np.exp(scores - m)
        weights = e / e.sum(axis=softmax_axis, keepdims=True) if normalise else e
        if normalise == "2d_only" and scores.ndim > 2:
            weights = scores                                                # no softmax for batched scores
        if scale == "after_softmax":
            weights = weights / math.sqrt(d)
        weights = weights.astype(dtype)
        output = weights @ (key if values_from == "key" else value)          # (..., Lq, dv)
    return output.astype(dtype), weights
