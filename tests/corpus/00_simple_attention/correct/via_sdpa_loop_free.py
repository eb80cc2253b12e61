# corpus: correct
"""Correct: simple_attention reuses a shared unscaled kernel on one query row."""
import math

import numpy as np


def _attend(q, k, v, scale):
    dtype = np.result_type(q, k, v)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    q, k, v = (np.asarray(a).astype(dtype, copy=False) for a in (q, k, v))
    s = (q @ np.swapaxes(k, -1, -2)) * dtype.type(scale)
    s = s - s.max(axis=-1, keepdims=True)
    w = np.exp(s)
    w /= w.sum(axis=-1, keepdims=True)
    return w @ v, w


def simple_attention(query, keys, values):
    out, _ = _attend(np.asarray(query)[None, :], keys, values, 1.0)
    return out[0]


def scaled_dot_product_attention(query, key, value):
    return _attend(query, key, value, 1.0 / math.sqrt(np.shape(query)[-1]))
