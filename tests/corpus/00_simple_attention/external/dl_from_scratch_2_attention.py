# corpus: buggy
# fails: test_sdpa_matches_reference test_sdpa_rows_sum_to_one
# passes: test_simple_attention_matches_reference test_simple_attention_large_scores test_simple_attention_dtypes
# source: https://github.com/oreilly-japan/deep-learning-from-scratch-2/blob/5473be8cd112c446c62c77535766280d445c17a7/common/functions.py
# source: (softmax) and .../blob/5473be8cd112c446c62c77535766280d445c17a7/ch08/attention_layer.py (AttentionWeight,
# source: WeightSum), oreilly-japan/deep-learning-from-scratch-2, the book "Deep Learning from Scratch 2"
# commit: 5473be8cd112c446c62c77535766280d445c17a7
# licence: MIT (LICENSE.md)
# adapted: re-expressed, not copied. simple_attention is the book's Attention for a batch of one: scores
# adapted: (hs * h).sum(axis=2), the book's softmax, and the weighted sum (hs * a).sum(axis=1), with the values in
# adapted: the weighted sum where the book uses hs for both. The book has no scaled attention, so
# adapted: scaled_dot_product_attention is the exercise README's formula (query @ np.swapaxes(key, -1, -2) /
# adapted: math.sqrt(d)) with the book's softmax.
# bug: the book's softmax handles 1-D and 2-D arrays only: for 3-D or 4-D scores (batched input) it returns the
# bug: scores unchanged, not normalised.
# expected-diagnosis: batched scores are returned without a softmax (the softmax only handles 1-D and 2-D arrays)
# names: not normalised | normalised | softmax
"""Deep Learning from Scratch 2's attention and softmax, fitted to the 00 contract."""
import math

import numpy as np


def softmax(x):
    if x.ndim == 2:
        x = x - x.max(axis=1, keepdims=True)
        x = np.exp(x)
        x /= x.sum(axis=1, keepdims=True)
    elif x.ndim == 1:
        x = x - np.max(x)
        x = np.exp(x) / np.sum(np.exp(x))
    return x


def simple_attention(query, keys, values):
    hs, h = keys[np.newaxis], query[np.newaxis]
    N, T, H = hs.shape
    s = np.sum(hs * h.reshape(N, 1, H), axis=2)
    a = softmax(s)
    return np.sum(values[np.newaxis] * a.reshape(N, T, 1), axis=1)[0]


def scaled_dot_product_attention(query, key, value):
    weights = softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1]))
    return weights @ value, weights
