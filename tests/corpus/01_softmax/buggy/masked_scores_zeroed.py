# corpus: buggy
# fails: test_masked_softmax_matches_reference
# diagnosis: set to 0
"""Buggy: multiplies the scores by the mask (masked scores become 0, not -inf)."""
import torch


def _masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def softmax(x, dim=-1):
    return _masked_softmax(x, torch.ones((), dtype=torch.bool), dim)


def masked_softmax(x, mask, dim=-1):
    return softmax(x * mask, dim)
