# corpus: correct
"""Correct: left-out entries get 0 by multiplying exp by the mask (never exp of -inf); softmax on its own."""
import torch


def softmax(x, dim=-1):
    finite = x != float("-inf")
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(finite, x - m, torch.zeros_like(x))) * finite
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    keep = mask.expand_as(x) if mask.dim() == x.dim() else torch.broadcast_to(mask, x.shape)
    keep = keep & (x != float("-inf"))
    shifted = torch.where(keep, x, torch.zeros_like(x))
    m = torch.where(keep, x, torch.full_like(x, float("-inf"))).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(shifted - m) * keep
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
