"""00_simple_attention: attention in plain NumPy. Fill in both functions.

Grade with:  grade exercises/00_simple_attention
NumPy only: importing torch or calling scipy.special.softmax is not allowed.
"""

from __future__ import annotations

import math

import numpy as np


def simple_attention(query, keys, values) -> np.ndarray:
    """Unscaled dot-product attention of one query over n key/value pairs.

        scores  = keys @ query
        weights = softmax(scores)
        context = weights @ values

    Shapes:
        query   (d,)
        keys    (n, d)
        values  (n, dv)
        return  (dv,)

    Any real dtype; integer input gives float64, a floating dtype is kept.
    """
    raise NotImplementedError("00_simple_attention: implement simple_attention")


def scaled_dot_product_attention(query, key, value) -> tuple[np.ndarray, np.ndarray]:
    """Scaled dot-product attention over any leading batch dimensions.

        weights = softmax(Q K^T / sqrt(d_k))      (softmax over the keys)
        output  = weights V

    Shapes:
        query    (..., Lq, d)
        key      (..., Lk, d)
        value    (..., Lk, dv)
        output   (..., Lq, dv)
        weights  (..., Lq, Lk), every row sums to 1
    """
    raise NotImplementedError("00_simple_attention: implement scaled_dot_product_attention")
