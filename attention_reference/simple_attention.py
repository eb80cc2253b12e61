"""Reference for 00_simple_attention: dot-product attention in plain NumPy.

No torch here: the exercise is NumPy only, and so is its reference.
"""

from __future__ import annotations

import math

import numpy as np


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype of the result: the inputs' common dtype, float64 if that is not floating."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _softmax_last(scores: np.ndarray) -> np.ndarray:
    """Stable softmax over the last axis: exp(s - max(s)) / sum(exp(s - max(s)))."""
    shifted = scores - scores.max(axis=-1, keepdims=True)              # largest entry becomes 0
    e = np.exp(shifted)                                                 # in (0, 1], no overflow
    return e / e.sum(axis=-1, keepdims=True)                            # the sum is >= 1


def simple_attention(query, keys, values) -> np.ndarray:
    """Unscaled dot-product attention of one query over n key/value pairs.

        scores  = keys @ query
        weights = softmax(scores)
        context = weights @ values

    Shapes:
        query   (d,)
        keys    (n, d)
        values  (n, dv)
        return  (dv,)

    Any real dtype; integer input gives float64, a floating dtype is kept.
    """
    query, keys, values = np.asarray(query), np.asarray(keys), np.asarray(values)
    if query.ndim != 1 or keys.ndim != 2 or values.ndim != 2:
        raise ValueError(f"expected query (d,), keys (n, d), values (n, dv); got shapes "
                         f"{query.shape}, {keys.shape}, {values.shape}")
    if keys.shape[1] != query.shape[0] or values.shape[0] != keys.shape[0]:
        raise ValueError(f"shapes do not fit: query {query.shape}, keys {keys.shape}, values {values.shape}")
    dtype = _float_dtype(query, keys, values)
    query, keys, values = query.astype(dtype), keys.astype(dtype), values.astype(dtype)

    scores = keys @ query                                               # (n, d) @ (d,) -> (n,)
    weights = _softmax_last(scores)                                     # (n,)
    return weights @ values                                             # (n,) @ (n, dv) -> (dv,)


def scaled_dot_product_attention(query, key, value) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention over any leading batch dimensions.

        weights = softmax(Q K^T / sqrt(d_k))      (softmax over the keys)
        output  = weights V

    Shapes:
        query    (..., Lq, d)
        key      (..., Lk, d)
        value    (..., Lk, dv)
        output   (..., Lq, dv)
        weights  (..., Lq, Lk), every row sums to 1
    """
    query, key, value = np.asarray(query), np.asarray(key), np.asarray(value)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"expected (..., L, d) arrays; got shapes {query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"shapes do not fit: query {query.shape}, key {key.shape}, value {value.shape}")
    dtype = _float_dtype(query, key, value)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    d_k = query.shape[-1]

    # 1) scores; a Python float keeps float32 float32
    scores = query @ np.swapaxes(key, -1, -2) / math.sqrt(d_k)          # (..., Lq, d) @ (..., d, Lk) -> (..., Lq, Lk)
    # 2) softmax over the keys
    weights = _softmax_last(scores)                                     # (..., Lq, Lk)
    # 3) weighted sum of the values
    output = weights @ value                                            # (..., Lq, Lk) @ (..., Lk, dv) -> (..., Lq, dv)
    return output, weights
