# corpus: buggy
# fails: test_fully_masked_slices test_masked_entries_exactly_zero
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference test_softmax_neg_inf test_softmax_gradients test_masked_softmax_gradients
"""Buggy: exp(x - m) * keep, then torch.where(total > 0, e / total, 0): right values on ordinary inputs, but the dropped branch computes 0 / 0 and its backward sends NaN through the product (NaN * 0 is NaN). Mutation: the gradient checks catch it; test_softmax_matches_reference, test_masked_softmax_matches_reference, test_fully_masked_slices and test_softmax_neg_inf do not."""
import torch


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    m = x.masked_fill(~keep, float("-inf")).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m) * keep
    total = e.sum(dim=dim, keepdim=True)
    return torch.where(total > 0, e / total, torch.zeros_like(e))


def softmax(x, dim=-1):
    return masked_softmax(x, torch.tensor(True), dim)
