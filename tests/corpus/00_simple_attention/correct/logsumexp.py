# corpus: correct
"""Correct: weights = exp(z - log(sum(exp(z)))) with z = s - max(s) (shifted before the log-sum-exp)."""
import math

import numpy as np


def _softmax(s):
    z = s - s.max(axis=-1, keepdims=True)                  # shift first: z - lse stays exact
    return np.exp(z - np.log(np.exp(z).sum(axis=-1, keepdims=True)))


def _floats(arrays):
    arrays = [np.asarray(a) for a in arrays]
    if all(np.issubdtype(a.dtype, np.floating) for a in arrays):
        return arrays
    return [a.astype(np.float64) for a in arrays]


def simple_attention(query, keys, values):
    query, keys, values = _floats((query, keys, values))
    return _softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    query, key, value = _floats((query, key, value))
    d_k = query.shape[-1]
    weights = _softmax(np.matmul(query, np.swapaxes(key, -1, -2)) * (1.0 / math.sqrt(d_k)))
    return np.matmul(weights, value), weights
