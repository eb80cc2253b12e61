# corpus: buggy
# fails: test_softmax_large_values
# passes: test_softmax_matches_reference
"""Buggy: exp(x - logsumexp(x)) without shifting x first: for |x| near 1e4 in float32 the rounding of logsumexp (about 5e-4) becomes a relative error of 5e-4 in every weight, thousands of times the reference's. Mutation: test_softmax_large_values catches it, test_softmax_matches_reference does not."""
import torch


def softmax(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
