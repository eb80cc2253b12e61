# corpus: buggy
# fails: test_sdpa_matches_reference test_simple_attention_matches_reference
# source: https://github.com/zedd-08/thesis-implementations (a notebook "Basic Attention Mechanism: Using numpy
# source: and Scipy", after https://machinelearningmastery.com/the-attention-mechanism-from-scratch/; the same
# source: code is in many other repositories that follow that tutorial)
# commit: the stored page (pages corpus); no commit recorded
# licence: unknown
# adapted: re-expressed, not copied. The notebook's steps (scores = Q @ K.transpose(), softmax(scores /
# adapted: K.shape[1] ** 0.5, axis=1), weights @ V) become scaled_dot_product_attention; simple_attention follows
# adapted: the tutorial's one-query version (softmax(scores / key_1.shape[0] ** 0.5), the scores keys @ query).
# bug: calls scipy.special.softmax, which the exercise bans (write the softmax yourself); also K.transpose(),
# bug: K.shape[1] and axis=1 are only right for 2-D arrays; the one-query version divides by sqrt(d), which the
# bug: exercise's simple_attention does not.
# expected-diagnosis: scipy.special.softmax is a banned call
# names: scipy.special.softmax | not allow
"""The Machine Learning Mastery attention tutorial's NumPy/SciPy code, fitted to the 00 contract."""
import numpy as np
from scipy.special import softmax


def simple_attention(query, keys, values):
    return softmax(keys @ query / keys.shape[1] ** 0.5) @ values


def scaled_dot_product_attention(query, key, value):
    scores = query @ key.transpose()
    weights = softmax(scores / key.shape[1] ** 0.5, axis=1)
    return weights @ value, weights
