# corpus: buggy
# fails: test_softmax_dtypes test_masked_softmax_dtypes
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference
"""Buggy: computes in float64 and forgets to convert back. Mutation: the dtype checks catch it, the float64 comparisons do not."""
import torch


def masked_softmax(x, mask, dim=-1):
    x = x.double()
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def softmax(x, dim=-1):
    return masked_softmax(x, torch.ones((), dtype=torch.bool), dim)
