# corpus: bad_input
# message: SyntaxError
"""Bad input: a syntax error."""
import numpy as np


def simple_attention(query, keys, values):
    return (keys @ query
