# corpus: buggy
# fails: test_fully_masked_slices test_masked_softmax_dtypes
# diagnosis: uniform weights
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference test_masked_softmax_gradients
"""Buggy: masked_fill(~mask, -1e9): fully masked slices come out uniform, and -1e9 does not fit in float16. Mutation: test_fully_masked_slices and test_masked_softmax_dtypes catch it, test_masked_softmax_matches_reference does not."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, -1e9), dim)
