# corpus: buggy
# fails: test_masked_softmax_matches_reference
# diagnosis: mask is inverted
"""Buggy: treats True as masked out."""
import torch


def masked_softmax(x, mask, dim=-1):
    keep = ~torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def softmax(x, dim=-1):
    return masked_softmax(x, torch.zeros((), dtype=torch.bool), dim)
