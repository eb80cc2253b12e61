# corpus: buggy
# fails: test_fully_masked_slices test_softmax_neg_inf
# diagnosis: gives NaN
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference
"""Buggy: the textbook softmax after masked_fill(-inf): an empty slice is NaN. Mutation: test_fully_masked_slices and test_softmax_neg_inf catch it, the plain comparisons do not."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
