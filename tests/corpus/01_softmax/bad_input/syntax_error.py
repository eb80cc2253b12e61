# corpus: bad_input
# message: SyntaxError
"""Bad input: a syntax error."""
import torch


def softmax(x, dim=-1)
    return x
