# corpus: correct
# source: https://github.com/oreilly-japan/deep-learning-from-scratch/blob/07b11618cdb5d5f78ad45464de0730efc07b0a4a/common/functions.py
# source: (oreilly-japan/deep-learning-from-scratch, the book "Deep Learning from Scratch": common/functions.py softmax)
# commit: 07b11618cdb5d5f78ad45464de0730efc07b0a4a
# licence: MIT (LICENSE.md)
# adapted: re-expressed, not copied: the book's softmax (subtract the max over the last axis with keepdims, exp,
# adapted: divide by the sum) is kept as it is. The book has no attention, so both functions are the exercise
# adapted: README's own formulas around it: simple_attention = softmax(keys @ query) @ values, and
# adapted: scaled_dot_product_attention = softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(d)) @ value.
# bug: none (the softmax is stable, works on any rank along the last axis, keeps float32 and turns integers into
# bug: float64 through np.exp).
"""Deep Learning from Scratch's softmax, with the exercise README's attention formulas around it (00 contract)."""
import math

import numpy as np


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def simple_attention(query, keys, values):
    return softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    weights = softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1]))
    return weights @ value, weights
