# corpus: bad_input
# message: RuntimeError while calling softmax
"""Bad input: raises."""
import torch


def softmax(x, dim=-1):
    raise RuntimeError("oops")


def masked_softmax(x, mask, dim=-1):
    raise RuntimeError("oops")
