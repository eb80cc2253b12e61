# corpus: buggy
# fails: test_softmax_matches_reference
# diagnosis: along dimension 1 whatever dim is
"""Buggy: the input is treated as (batch, features): softmax along dimension 1 whatever dim is (a 1-d input
is lifted to one row first, so it never raises)."""
import torch


def softmax(x, dim=-1):
    rows = x if x.dim() > 1 else x[None]
    m = rows.amax(dim=1, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(rows - m)
    total = e.sum(dim=1, keepdim=True)
    out = e / torch.where(total > 0, total, torch.ones_like(total))
    return out if x.dim() > 1 else out[0]


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
