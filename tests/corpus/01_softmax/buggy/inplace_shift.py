# corpus: buggy
# fails: test_softmax_inputs_unmodified
# passes: test_softmax_matches_reference
"""Buggy: subtracts the max from x in place. Mutation: test_softmax_inputs_unmodified catches it, the value checks do not."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    if not x.requires_grad:
        x -= m
    else:
        x = x - m
    e = torch.exp(x)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
