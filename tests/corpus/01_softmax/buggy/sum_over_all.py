# corpus: buggy
# fails: test_softmax_matches_reference
# diagnosis: sum of all entries
"""Buggy: divides by the sum of the whole tensor."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())
    return e / e.sum()


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
