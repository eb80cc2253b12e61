# corpus: correct
"""Correct: computes in float64 and converts back to the input's floating dtype."""
import math

import numpy as np


def _softmax(s):
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _out_dtype(*arrays):
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def scaled_dot_product_attention(query, key, value):
    dtype = _out_dtype(query, key, value)
    q, k, v = (np.array(a, dtype=np.float64) for a in (query, key, value))
    w = _softmax(q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1]))
    return (w @ v).astype(dtype), w.astype(dtype)


def simple_attention(query, keys, values):
    dtype = _out_dtype(query, keys, values)
    q, k, v = (np.array(a, dtype=np.float64) for a in (query, keys, values))
    w = _softmax(k @ q)
    return (w @ v).astype(dtype)
