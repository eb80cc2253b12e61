# corpus: buggy
# fails: test_sdpa_batch_independent test_sdpa_dtypes
# diagnosis: key.T
# source: https://github.com/jtappen1/Machine-Learning-From-Scratch/blob/6bf2f465bfc2b405c333ccd7f054fa40860cc179/models/self-attention/self_attention.py
# source: (jtappen1/Machine-Learning-From-Scratch, models/self-attention/self_attention.py: softmax and the script)
# commit: 6bf2f465bfc2b405c333ccd7f054fa40860cc179
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source is a script over fixed Q, K, V; its steps (d_k = K.shape[1],
# adapted: Q @ K.T, / np.sqrt(d_k), softmax, @ V) become scaled_dot_product_attention. simple_attention applies
# adapted: the source's softmax to keys @ query.
# bug: d_k = K.shape[1] and K.T only mean the key size and the key transpose for 2-D keys (batched, K.shape[1] is
# bug: Lk and K.T reverses every axis); np.sqrt(d_k) is a float64 scalar that turns float32 into float64.
# expected-diagnosis: key.T / K.shape[1] on batched input (use the last two axes), and the float64 np.sqrt scalar
# names: key.T; np.sqrt | float64
"""A from-scratch self-attention script (NumPy), fitted to the 00 contract."""
import numpy as np


def softmax(x):
    e_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e_x / e_x.sum(axis=-1, keepdims=True)


def simple_attention(query, keys, values):
    return softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    d_k = key.shape[1]
    attention_scores = query @ key.T
    scaled_scores = attention_scores / np.sqrt(d_k)
    attention_weights = softmax(scaled_scores)
    return attention_weights @ value, attention_weights
