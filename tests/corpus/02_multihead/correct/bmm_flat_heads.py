# corpus: correct
"""Correct: folds heads into the batch for torch.bmm; masks with finfo.min and clamps the sum."""
import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"{embed_dim} % {num_heads} != 0")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, nn.Linear(embed_dim, embed_dim, bias=bias))

    def forward(self, query, key, value, mask=None):
        B, Lq, E = query.shape
        Lk = key.shape[1]
        H, Dh = self.num_heads, E // self.num_heads
        fold = lambda x, L: x.reshape(B, L, H, Dh).permute(0, 2, 1, 3).reshape(B * H, L, Dh)
        q, k, v = fold(self.q_proj(query), Lq), fold(self.k_proj(key), Lk), fold(self.v_proj(value), Lk)
        scores = torch.bmm(q, k.transpose(1, 2)).reshape(B, H, Lq, Lk) / math.sqrt(Dh)
        if mask is None:
            mask = torch.ones(1, dtype=torch.bool, device=query.device)
        allowed = mask.expand(B, H, Lq, Lk)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        e = torch.exp(scores - scores.amax(dim=-1, keepdim=True)) * allowed
        weights = e / e.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(e.dtype).tiny)
        out = torch.bmm(weights.reshape(B * H, Lq, Lk), v)
        out = out.reshape(B, H, Lq, Dh).transpose(1, 2).reshape(B, Lq, E)
        return self.out_proj(out), weights
