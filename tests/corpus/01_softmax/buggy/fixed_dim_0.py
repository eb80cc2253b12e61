# corpus: buggy
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: along dimension 0 whatever dim is
"""Buggy: the softmax always runs down dimension 0 (columns of a matrix), whatever dim says."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=0, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=0, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
