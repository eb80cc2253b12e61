# corpus: buggy
# fails: test_softmax_matches_reference
# diagnosis: dimension 1 whatever dim is
# passes: test_masked_softmax_matches_reference
"""Buggy: softmax written for 2-D input, rows only (max and sum over dim=1 whatever dim is): a 1-D input raises
IndexError, and other ranks are normalised along the wrong dimension. masked_softmax is right."""
import torch


def softmax(x, dim=-1):
    x_max = x.max(dim=1, keepdim=True)[0]
    numerator = torch.exp(x - x_max)
    return numerator / numerator.sum(dim=1, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
