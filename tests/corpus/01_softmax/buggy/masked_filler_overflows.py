# corpus: buggy
# fails: test_masked_softmax_extreme_values
# diagnosis: exp(0 - max) overflows
# passes: test_masked_softmax_matches_reference test_masked_entries_exactly_zero test_fully_masked_slices test_masked_softmax_gradients
"""Buggy (was in the correct corpus until real scores far below 0 were drawn): left-out entries are replaced
by 0 before exp and zeroed after by multiplying by the mask. With the real entries near -1000, exp(0 - max)
= exp(1000) overflows and inf * 0 is NaN. Softmax on its own is right."""
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
