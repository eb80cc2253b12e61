# corpus: buggy
# fails: test_masked_softmax_dtypes
# diagnosis: comes out float32
# passes: test_softmax_dtypes test_masked_softmax_matches_reference
"""Buggy: masks by adding torch.where(mask, 0.0, -inf), a float32 tensor (both branches are Python floats), so
float16 and bfloat16 input comes out float32; float32 and float64 input are right."""
import torch


def _softmax(x, dim):
    keep = x != float("-inf")
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    return _softmax(x + torch.where(mask, 0.0, float("-inf")), dim)


def softmax(x, dim=-1):
    return _softmax(x, dim)
