# corpus: buggy
# fails: test_inputs_unmodified
# passes: test_sdpa_matches_reference test_simple_attention_matches_reference
"""Buggy: scales the caller's query in place (and normalises the caller's keys' copy). Mutation: test_inputs_unmodified catches it, the value checks do not."""
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
    query = np.asarray(query)
    if not np.issubdtype(query.dtype, np.floating):
        query = query.astype(np.float64)
    key, value = np.asarray(key).astype(query.dtype), np.asarray(value).astype(query.dtype)
    query /= math.sqrt(query.shape[-1])
    weights = _softmax(query @ np.swapaxes(key, -1, -2))
    return weights @ value, weights
