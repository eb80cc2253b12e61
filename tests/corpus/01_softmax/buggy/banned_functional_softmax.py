# corpus: buggy
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# message: Uses torch.nn.functional.softmax, which this exercise does not allow
"""Buggy: calls F.softmax (banned), which runs Tensor.softmax inside: the message names what the source calls."""
import torch
import torch.nn.functional as F


def softmax(x, dim=-1):
    return F.softmax(x, dim=dim)


def masked_softmax(x, mask, dim=-1):
    return F.softmax(x.masked_fill(~mask, float("-inf")), dim=dim)
