# corpus: buggy
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: only as accurate as float32
# passes: test_softmax_dtypes test_masked_softmax_dtypes
"""Buggy: 'mixed precision': the softmax runs in float32 and is cast back, so a float64 input gets a
float32-accurate answer. Right for float32, float16 and bfloat16 inputs."""
import torch


def softmax(x, dim=-1):
    y = x.float()
    m = y.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(y - m)
    total = e.sum(dim=dim, keepdim=True)
    return (e / torch.where(total > 0, total, torch.ones_like(total))).to(x.dtype)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
