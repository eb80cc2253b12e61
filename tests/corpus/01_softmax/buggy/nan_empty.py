# corpus: buggy
# fails: test_fully_masked_slices
# diagnosis: gives NaN
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference test_softmax_neg_inf test_softmax_gradients test_masked_softmax_gradients test_masked_softmax_dtypes
"""Buggy: the textbook softmax after masked_fill(-inf): an empty slice is NaN. Mutation: test_fully_masked_slices catches it, the plain comparisons do not; it costs that check alone (the all -inf slice of plain softmax is advice, and the gradient checks draw no empty slice)."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
