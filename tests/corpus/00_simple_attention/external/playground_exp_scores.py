# corpus: buggy
# fails: test_simple_attention_large_scores test_sdpa_dtypes
# diagnosis: subtracting the largest
# source: https://github.com/xuyuji9000/machine-learning-playground (a notebook after the article
# source: https://medium.com/@christoschr97/understanding-the-attention-mechanism-a-simple-implementation-using-python-and-numpy-3f1feae13fb7)
# commit: the stored page (pages corpus); no commit recorded
# licence: unknown
# adapted: re-expressed, not copied. The notebook's steps (scores = np.dot(Q, K.T), d_k = K.shape[1],
# adapted: scores / np.sqrt(d_k), exp, divide by the sum over axis 1 with keepdims) become
# adapted: scaled_dot_product_attention; simple_attention runs exp / sum on keys @ query (one axis).
# bug: exp without subtracting the max (overflows for large scores); K.T, K.shape[1] and axis=1 only right for
# bug: 2-D arrays; np.sqrt(d_k) is a float64 scalar that turns float32 into float64.
# expected-diagnosis: the max is not subtracted before exp; key.T / axis=1 break batched input; the float64
# expected-diagnosis: np.sqrt scalar
# names: subtracting the largest; key.T; np.sqrt | float64
"""A notebook's step-by-step NumPy attention, fitted to the 00 contract."""
import numpy as np


def simple_attention(query, keys, values):
    exp_scores = np.exp(np.dot(keys, query))
    return np.dot(exp_scores / exp_scores.sum(axis=0, keepdims=True), values)


def scaled_dot_product_attention(query, key, value):
    scores = np.dot(query, key.T)
    d_k = key.shape[1]
    exp_scores = np.exp(scores / np.sqrt(d_k))
    attention_weights = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    return np.dot(attention_weights, value), attention_weights
