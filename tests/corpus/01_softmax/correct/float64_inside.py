# corpus: correct
"""Correct: computes in float64 and converts back to x's dtype."""
import torch


def masked_softmax(x, mask, dim=-1):
    x64 = x.double()
    keep = mask & (x64 > float("-inf"))
    s = x64.masked_fill(~keep, float("-inf"))
    m = s.amax(dim=dim, keepdim=True).nan_to_num(neginf=0.0).detach()
    e = torch.exp(s - m)
    total = e.sum(dim=dim, keepdim=True)
    w = e / torch.where(total > 0, total, torch.ones_like(total))
    return w.to(x.dtype)


def softmax(x, dim=-1):
    return masked_softmax(x, torch.ones_like(x, dtype=torch.bool), dim)
