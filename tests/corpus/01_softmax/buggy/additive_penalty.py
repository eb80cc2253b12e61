# corpus: buggy
# fails: test_masked_entries_exactly_zero
# diagnosis: finite penalty
# passes: test_masked_softmax_matches_reference test_fully_masked_slices
"""Buggy: masks by adding -1e4 and zeroes empty slices by hand. Values of order 1 hide it; a masked entry of 1e4 gets weight. Mutation: test_masked_entries_exactly_zero catches it, test_masked_softmax_matches_reference and test_fully_masked_slices do not."""
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
    keep = torch.broadcast_to(mask, x.shape)
    w = softmax(x - 1e4 * (~keep).to(x.dtype), dim)
    return w * keep.any(dim=dim, keepdim=True)
