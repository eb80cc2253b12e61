# corpus: buggy
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: calls torch.softmax, which this exercise does not allow
"""Buggy: calls torch.softmax (banned)."""
import torch


def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)


def masked_softmax(x, mask, dim=-1):
    w = torch.softmax(x.masked_fill(~mask, float("-inf")), dim=dim)
    return w.nan_to_num(0.0)
