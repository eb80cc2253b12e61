# corpus: buggy
# fails: test_masked_entries_exactly_zero
# diagnosis: masked ones included, and exp is then multiplied by the mask
# passes: test_masked_softmax_matches_reference test_softmax_matches_reference test_masked_softmax_extreme_values
"""Buggy: the max is taken over the raw x, masked entries included, and exp(x - max) is multiplied by the mask.
Right on ordinary inputs (and with masked entries at -inf); when a masked entry is far larger than the real
ones, exp of every real entry underflows and the slice is all zeros. On those inputs it gives the numbers of a
mask applied after the softmax and renormalised (the same arithmetic), and both are named."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    s = e.sum(dim=dim, keepdim=True)
    return e / torch.where(s > 0, s, torch.ones_like(s))


def masked_softmax(x, mask, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    e = torch.exp(x - m) * mask
    s = e.sum(dim=dim, keepdim=True)
    return e / torch.where(s > 0, s, torch.ones_like(s))
