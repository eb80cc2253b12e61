# corpus: buggy
# fails: test_sdpa_matches_reference test_simple_attention_large_scores
# diagnosis: over the queries | subtracting the largest
# source: https://github.com/pluu2/MLhelper/blob/48d4304f318e74eaaa9b18779699b6b81c158e51/attention.py
# source: (pluu2/MLhelper, attention.py: softmaxT and attention)
# commit: 48d4304f318e74eaaa9b18779699b6b81c158e51
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source's attention(q, k) returns the weights softmaxT(q . k^T) with
# adapted: temperature 1 (its default); here the output weights @ value is returned with them, and
# adapted: simple_attention applies softmaxT to keys @ query.
# bug: softmaxT sums over axis 0 (for a matrix of scores that is the query axis, not the keys), does not
# bug: subtract the max (overflows for large scores), the scores are not scaled by 1/sqrt(d_k), and key.T
# bug: reverses every axis of a batched key.
# expected-diagnosis: the softmax runs over the queries (axis 0), the scores are not divided by sqrt(d_k), and
# expected-diagnosis: the max is not subtracted, and key.T breaks batched input
# names: over the queries | axis=-2; not scaled | sqrt(d_k); subtracting the largest; key.T
"""A small attention helper (NumPy), fitted to the 00 contract."""
import numpy as np


def softmaxT(logits, temperature=1):
    return np.exp(logits / temperature) / np.sum(np.exp(logits / temperature), axis=0)


def simple_attention(query, keys, values):
    return softmaxT(np.dot(keys, query)) @ values


def scaled_dot_product_attention(query, key, value):
    weights = softmaxT(np.dot(query, key.T))
    return weights @ value, weights
