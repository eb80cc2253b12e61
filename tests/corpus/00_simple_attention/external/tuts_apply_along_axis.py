# corpus: buggy
# fails: test_sdpa_batch_independent test_sdpa_dtypes
# diagnosis: key.T | axis 1 | comes out float64
# source: https://github.com/VikramTaviti/tuts (a notebook: "Step 6: Apply softmax row-wise" with np.apply_along_axis)
# commit: the stored page (pages corpus); no commit recorded
# licence: unknown
# adapted: re-expressed, not copied. The notebook's steps (scores = Q @ K.T, d_k = Q.shape[1], scores / np.sqrt(d_k),
# adapted: np.apply_along_axis(softmax, axis=1, ...), weights @ V) become scaled_dot_product_attention;
# adapted: simple_attention applies the notebook's softmax to keys @ query (its max is then the row's own).
# bug: np.apply_along_axis(softmax, axis=1) normalises along axis 1, which is the query axis once there is a batch
# bug: axis; K.T and Q.shape[1] only mean the key transpose and d_k for 2-D arrays; np.sqrt(d_k) is a float64
# bug: scalar that turns float32 into float64.
# expected-diagnosis: key.T / axis=1 on batched input, and the float64 np.sqrt scalar
# names: key.T | over the queries; np.sqrt | float64
"""A tutorial notebook's NumPy attention (softmax applied row by row), fitted to the 00 contract."""
import numpy as np


def softmax(x):
    e_x = np.exp(x - np.max(x))
    return e_x / np.sum(e_x, axis=-1, keepdims=True)


def simple_attention(query, keys, values):
    return softmax(keys @ query) @ values


def scaled_dot_product_attention(query, key, value):
    scores = query @ key.T
    d_k = query.shape[1]
    scaled_scores = scores / np.sqrt(d_k)
    attention_weights = np.apply_along_axis(softmax, axis=1, arr=scaled_scores)
    return attention_weights @ value, attention_weights
