# corpus: buggy
# fails: test_sdpa_batch_independent test_sdpa_dtypes
# diagnosis: key.T
# source: https://github.com/jaymody/picoGPT/blob/018a1e1796d7ea3e96032d9667042316c8fa7864/gpt2.py
# source: (jaymody/picoGPT, gpt2.py: softmax and attention)
# commit: 018a1e1796d7ea3e96032d9667042316c8fa7864
# licence: MIT
# adapted: re-expressed in this file's words, not copied: the operations, their order, axes and constants are
# adapted: the source's. The source's attention(q, k, v, mask) adds a causal mask of -1e10 that its caller builds;
# adapted: the contract has no mask, so nothing is added. It returns only the output; the weights it computes are
# adapted: returned too. simple_attention (the source has none) applies the source's softmax to keys @ query.
# bug: k.T reverses every axis, so batched keys give a shape error or wrong numbers (the source only passes
# bug: 2-D heads); np.sqrt(q.shape[-1]) is a float64 scalar, so float32 input comes back float64 (NumPy 2).
# expected-diagnosis: key.T on a batched array (transpose only the last two axes), and np.sqrt(d), a float64
# expected-diagnosis: scalar, turning float32 results into float64
# names: key.T; np.sqrt | float64
"""picoGPT's NumPy attention (GPT-2 in plain NumPy), fitted to the 00 contract."""
import numpy as np


def softmax(x):
    exp_x = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


def simple_attention(query, keys, values):
    return softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    weights = softmax(query @ key.T / np.sqrt(query.shape[-1]))
    return weights @ value, weights
