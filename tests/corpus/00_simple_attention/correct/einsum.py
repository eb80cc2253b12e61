# corpus: correct
"""Correct: einsum for both products, float dtype chosen with np.result_type."""
import math

import numpy as np


def _float(*arrays):
    dtype = np.result_type(*arrays, np.float16)
    return [np.asarray(a, dtype=dtype if np.issubdtype(dtype, np.floating) else np.float64) for a in arrays]


def simple_attention(query, keys, values):
    q, k, v = _float(query, keys, values)
    scores = np.einsum("nd,d->n", k, q)
    w = np.exp(scores - scores.max())
    return np.einsum("n,nv->v", w / w.sum(), v)


def scaled_dot_product_attention(query, key, value):
    q, k, v = _float(query, key, value)
    scores = np.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    return np.einsum("...qk,...kv->...qv", w, v), w
