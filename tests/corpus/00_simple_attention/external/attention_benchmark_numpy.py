# corpus: buggy
# fails: test_sdpa_batch_independent test_sdpa_dtypes
# diagnosis: key.T
# source: https://github.com/marcderoo/attention_benchmark/blob/8162685752f56fa84f61a2613bb08ad248e61310/attention/numpy_impl.py
# source: (marcderoo/attention_benchmark, attention/numpy_impl.py: attention)
# commit: 8162685752f56fa84f61a2613bb08ad248e61310
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied: same operations, order, axes and constants. The source returns only the
# adapted: output; the weights it normalises in place (its own array, not an input) are returned too.
# adapted: simple_attention (the source has none) runs the same steps on keys @ query without the scale.
# bug: K.T reverses every axis of a batched key; np.sqrt(dk) is a float64 scalar that turns float32 results
# bug: into float64 (NumPy 2).
# expected-diagnosis: key.T on a batched array (transpose only the last two axes), and the float64 np.sqrt(d)
# expected-diagnosis: scalar turning float32 into float64
# names: key.T; np.sqrt | float64
"""A NumPy baseline from an attention benchmark, fitted to the 00 contract."""
import numpy as np


def simple_attention(query, keys, values):
    scores = keys @ query
    scores = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    scores /= np.sum(scores, axis=-1, keepdims=True)
    return np.matmul(scores, values)


def scaled_dot_product_attention(query, key, value):
    dk = query.shape[-1]
    scores = np.matmul(query, key.T) / np.sqrt(dk)
    scores = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    scores /= np.sum(scores, axis=-1, keepdims=True)
    return np.matmul(scores, value), scores
