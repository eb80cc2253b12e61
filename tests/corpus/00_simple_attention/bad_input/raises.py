# corpus: bad_input
# message: ValueError while calling simple_attention
"""Bad input: raises."""
import math

import numpy as np


def simple_attention(query, keys, values):
    raise ValueError("not today")


def scaled_dot_product_attention(query, key, value):
    raise ValueError("not today")
