# corpus: buggy
# fails: test_simple_attention_large_scores test_sdpa_batch_independent
# diagnosis: subtracting the largest
# source: https://github.com/devadigapratham/prathameshdevadiga/blob/7e9dfdb0c2da82f3b1da0ec45fc02f49a288730a/src/content/post/self-attention.md
# source: (devadigapratham/prathameshdevadiga, src/content/post/self-attention.md, the blog post "Self Attention
# source: in Transformers", 10 April 2024: softmax and scaled_dot_product_attention; the same code is in many
# source: student repositories that follow a popular video tutorial)
# commit: 7e9dfdb0c2da82f3b1da0ec45fc02f49a288730a
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source's mask argument (a causal mask added to the scores) is dropped:
# adapted: the contract has none. simple_attention (the source has none) applies the same softmax to keys @ query.
# bug: the softmax does not subtract the max (overflows for large scores) and normalises through transposes
# bug: that only line up for 2-D scores; k.T reverses every axis of a batched key.
# expected-diagnosis: the max is not subtracted before exp, and k.T (and the transposed softmax) break batched input
# names: subtracting the largest; key.T
"""The NumPy self-attention of a blog post (after a widely copied video tutorial), fitted to the 00 contract."""
import math

import numpy as np


def softmax(x):
    return (np.exp(x).T / np.sum(np.exp(x), axis=-1)).T


def simple_attention(query, keys, values):
    return np.matmul(softmax(np.matmul(keys, query)), values)


def scaled_dot_product_attention(query, key, value):
    d_k = query.shape[-1]
    scaled = np.matmul(query, key.T) / math.sqrt(d_k)
    attention = softmax(scaled)
    return np.matmul(attention, value), attention
