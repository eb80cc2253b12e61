# corpus: buggy
# fails: test_sdpa_matches_reference test_sdpa_dtypes
# source: https://github.com/Furvos/self_attention/blob/1c27ec16af6fcd4d28a46caa07cd4c97c64c89f9/test_attention.py
# source: (Furvos/self_attention, test_attention.py: softmax and the script around it)
# commit: 1c27ec16af6fcd4d28a46caa07cd4c97c64c89f9
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The script's steps (np.dot(Q, K.T), d_k = K.shape[1], / np.sqrt(d_k),
# adapted: softmax over axis 1, np.dot(weights, V)) become scaled_dot_product_attention; simple_attention applies
# adapted: the source's softmax to keys @ query as one row (its softmax takes rows along axis 1).
# bug: np.dot, K.T, K.shape[1] and axis=1 are only right for 2-D arrays (batched input is wrong or raises);
# bug: np.sqrt(d_k) is a float64 scalar that turns float32 into float64.
# expected-diagnosis: key.T / axis=1 / np.dot on batched input (use the last two axes and matmul), and the
# expected-diagnosis: float64 np.sqrt scalar
# names: key.T; np.sqrt | float64
"""A self-attention exercise script (NumPy), fitted to the 00 contract."""
import numpy as np


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    exp_x = np.exp(x)
    return exp_x / np.sum(exp_x, axis=1, keepdims=True)


def simple_attention(query, keys, values):
    return np.dot(softmax(np.dot(keys, query)[np.newaxis, :])[0], values)


def scaled_dot_product_attention(query, key, value):
    scores = np.dot(query, key.T)
    d_k = key.shape[1]
    attention_weights = softmax(scores / np.sqrt(d_k))
    return np.dot(attention_weights, value), attention_weights
