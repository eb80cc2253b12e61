# corpus: buggy
# fails: test_sdpa_matches_reference test_sdpa_batch_independent
# diagnosis: handles only 1-D and 2-D
"""Buggy: the softmax branches on ndim and leaves batched (3-D) scores as they are."""
import math

import numpy as np


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def simple_attention(query, keys, values):
    query, keys, values = np.asarray(query), np.asarray(keys), np.asarray(values)
    dtype = np.result_type(query, keys, values)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    query, keys, values = query.astype(dtype), keys.astype(dtype), values.astype(dtype)
    return _softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    query, key, value = np.asarray(query), np.asarray(key), np.asarray(value)
    dtype = np.result_type(query, key, value)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    s = query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1])
    if s.ndim > 2:
        weights = s                                   # only 1-D and 2-D arrays get a softmax
    else:
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ value, weights
