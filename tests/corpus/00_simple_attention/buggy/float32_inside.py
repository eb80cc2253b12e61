# corpus: buggy
# fails: test_sdpa_matches_reference
# diagnosis: computed in float32 and cast back
# passes: test_sdpa_half_precision test_simple_attention_matches_reference
"""Buggy: scaled_dot_product_attention computes in float32 ("fast enough") and casts back: float64 input gets
a float32-accurate answer in float64."""
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
    query, key, value = query.astype(np.float32), key.astype(np.float32), value.astype(np.float32)
    weights = _softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1]))
    return (weights @ value).astype(dtype), weights.astype(dtype)
