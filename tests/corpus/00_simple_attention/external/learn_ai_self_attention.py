# corpus: buggy
# fails: test_simple_attention_large_scores test_sdpa_matches_reference
# diagnosis: not scaled | subtracting the largest | key.T | axis 1
# source: https://github.com/Fangzhou-Code/Learn_AI/blob/5d92ac48fd6b614084ed712bbce74526d202d6da/%E7%AC%AC%E5%9B%9B%E9%98%B6%E6%AE%B5%EF%BC%9A%E5%A4%A7%E6%A8%A1%E5%9E%8B/self_attention.py
# source: (Fangzhou-Code/Learn_AI, 第四阶段：大模型/self_attention.py: soft_max and the script around it)
# commit: 5d92ac48fd6b614084ed712bbce74526d202d6da
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source is a script: scores = Query @ Key.T, soft_max(scores),
# adapted: out = scores @ Value; here that script is scaled_dot_product_attention, returning the weights too.
# adapted: simple_attention passes its scores to the source's soft_max as one row (it only takes 2-D arrays).
# bug: the scores are never divided by sqrt(d_k); soft_max does not subtract the max (overflows for large
# bug: scores); it sums over axis 1 (only right for 2-D scores); Key.T reverses every axis of a batched key.
# expected-diagnosis: the scores are not scaled by 1/sqrt(d_k), the softmax does not subtract the max, and
# expected-diagnosis: key.T / axis=1 break batched input
# names: not scaled | sqrt(d_k); subtracting the largest; key.T | over the queries | axis 1
"""A self-attention study script (NumPy), fitted to the 00 contract."""
import numpy as np


def soft_max(z):
    t = np.exp(z)
    return np.exp(z) / np.expand_dims(np.sum(t, axis=1), 1)


def simple_attention(query, keys, values):
    weights = soft_max((keys @ query)[np.newaxis, :])[0]
    return weights @ values


def scaled_dot_product_attention(query, key, value):
    scores = soft_max(query @ key.T)
    return scores @ value, scores
