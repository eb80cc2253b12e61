# corpus: buggy
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: adds a small epsilon
# passes: test_softmax_dtypes
"""Buggy: e / (e.sum() + 1e-6) 'to avoid dividing by zero': every weight a little small (1e-6 relative), right to
float32's accuracy, wrong in float64. Named as the epsilon it adds (not taken for computing in float32: its float64
answers are not float32 numbers)."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    return e / (e.sum(dim=dim, keepdim=True) + 1e-6)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
