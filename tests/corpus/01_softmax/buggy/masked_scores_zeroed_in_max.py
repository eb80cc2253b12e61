# corpus: buggy
# fails: test_masked_softmax_extreme_values
# diagnosis: kept in the max
# passes: test_masked_softmax_matches_reference test_masked_entries_exactly_zero test_fully_masked_slices test_masked_softmax_dtypes
"""Buggy: masked scores zeroed (x * mask) and kept in the max, exp multiplied by the mask. Right on ordinary
inputs, all zeros when the real scores lie far below 0, NaN when a masked entry is -inf (-inf * 0).
Mutation: only test_masked_softmax_extreme_values catches it."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    keep = mask.to(x.dtype)
    x = x * keep
    m = x.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(x - m) * keep
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
