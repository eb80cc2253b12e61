# corpus: buggy
# fails: test_simple_attention_dtypes
# passes: test_simple_attention_matches_reference
"""Buggy: accumulates the context in np.zeros_like(values), which is an integer array for integer input. Mutation: test_simple_attention_dtypes catches it, the float64 comparison does not."""
import math

import numpy as np


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def scaled_dot_product_attention(query, key, value):
    query, key, value = np.asarray(query), np.asarray(key), np.asarray(value)
    dtype = np.result_type(query, key, value)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    weights = _softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1]))
    return weights @ value, weights


def simple_attention(query, keys, values):
    query, keys, values = np.asarray(query), np.asarray(keys), np.asarray(values)
    weights = _softmax(keys @ query)
    context = np.zeros_like(values[0])
    for w, v in zip(weights, values):
        context = context + (w * v).astype(context.dtype)
    return context
