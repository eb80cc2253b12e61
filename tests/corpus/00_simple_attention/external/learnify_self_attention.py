# corpus: buggy
# fails: test_simple_attention_large_scores test_sdpa_dtypes
# diagnosis: subtracting the largest
# source: https://github.com/KawsarAhmad43/Learnify (a notebook "Implementation: Self-Attention from Scratch")
# commit: the stored page (pages corpus); no commit recorded
# licence: unknown
# adapted: re-expressed, not copied. The notebook's steps (scores = np.dot(Q, K.T), d_k = x.shape[1] (the query's
# adapted: width), softmax(scores / np.sqrt(d_k)) with exp over axis 1, np.dot(weights, V)) become
# adapted: scaled_dot_product_attention; simple_attention applies the notebook's softmax to keys @ query as one row.
# bug: exp without subtracting the max (overflows for large scores); K.T, the query's shape[1] and axis=1 are only
# bug: right for 2-D arrays; np.sqrt(d_k) is a float64 scalar that turns float32 into float64.
# expected-diagnosis: the max is not subtracted before exp; key.T / axis=1 break batched input; the float64
# expected-diagnosis: np.sqrt scalar
# names: subtracting the largest; key.T; np.sqrt | float64
"""A study notebook's NumPy self-attention, fitted to the 00 contract."""
import numpy as np


def softmax(z):
    exp_z = np.exp(z)
    return exp_z / np.sum(exp_z, axis=1, keepdims=True)


def simple_attention(query, keys, values):
    return np.dot(softmax(np.dot(keys, query)[np.newaxis, :])[0], values)


def scaled_dot_product_attention(query, key, value):
    scores = np.dot(query, key.T)
    d_k = query.shape[1]
    attention_weights = softmax(scores / np.sqrt(d_k))
    return np.dot(attention_weights, value), attention_weights
