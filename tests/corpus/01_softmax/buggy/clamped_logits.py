# corpus: buggy
# fails: test_softmax_neg_inf test_softmax_large_values
# passes: test_softmax_matches_reference
"""Buggy: logits clamped to [-50, 50] 'to avoid -inf and overflow'. Ordinary values never reach the bounds,
so the plain comparison passes; a -inf entry becomes -50 and gets a tiny weight instead of exactly 0
(test_softmax_neg_inf), and large values lose their differences."""
import torch


def softmax(x, dim=-1):
    x = x.clamp(min=-50.0, max=50.0)
    m = x.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(x - m)
    return e / e.sum(dim=dim, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape)
    m = torch.where(keep, x, torch.full_like(x, float("-inf"))).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, torch.full_like(x, float("-inf"))))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
