# corpus: buggy
# fails: test_softmax_large_values test_softmax_sums_to_one test_softmax_shift_invariant
# diagnosis: Without subtracting the max
# passes: test_softmax_matches_reference
"""Buggy: no max subtraction. Mutation: test_softmax_sums_to_one (float16 overflows at 12) and test_softmax_shift_invariant (exp(1e4) is inf in float64) catch it; test_softmax_matches_reference (values of order 1) does not."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    e = torch.exp(x.masked_fill(~keep, float("-inf")))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
