# corpus: buggy
# fails: test_sdpa_matches_reference
# message: Imports scipy.special.softmax, which this exercise does not allow
# diagnosis: calls scipy.special.softmax, which this exercise does not allow
"""Buggy: calls scipy.special.softmax (banned). SciPy is not installed where it is graded: the ban is said, not
an import error."""
import math

import numpy as np
from scipy.special import softmax


def simple_attention(query, keys, values):
    keys = np.asarray(keys, dtype=float)
    return softmax(keys @ np.asarray(query)) @ np.asarray(values)


def scaled_dot_product_attention(query, key, value):
    query = np.asarray(query)
    weights = softmax(query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1]), axis=-1)
    return weights @ value, weights
