# corpus: buggy
# fails: test_half_precision
# diagnosis: NumPy has no bfloat16
"""Buggy: the fill value is the dtype's minimum found through NumPy, which has no bfloat16 (float16 works)."""
import math

import numpy as np

import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        B, Lq, E = query.shape
        Lk = key.shape[1]
        H = self.num_heads
        Dh = E // H
        q = self.q_proj(query).view(B, Lq, H, Dh).transpose(1, 2)          # (B, H, Lq, Dh)
        k = self.k_proj(key).view(B, Lk, H, Dh).transpose(1, 2)            # (B, H, Lk, Dh)
        v = self.v_proj(value).view(B, Lk, H, Dh).transpose(1, 2)          # (B, H, Lk, Dh)
        scores = q @ k.transpose(-2, -1) / math.sqrt(Dh)                   # (B, H, Lq, Lk)
        if mask is not None:
            mask = torch.broadcast_to(mask, scores.shape)
            lowest = float(np.finfo(torch.tensor(0, dtype=scores.dtype).numpy().dtype).min)  # no bfloat16
            scores = scores.masked_fill(~mask, lowest)
        m = scores.amax(dim=-1, keepdim=True)
        e = torch.exp(scores - m)
        weights = e / e.sum(dim=-1, keepdim=True)                          # (B, H, Lq, Lk)
        if mask is not None:
            weights = weights * mask.any(dim=-1, keepdim=True)             # fully masked rows: zeros
        out = weights @ v                                                  # (B, H, Lq, Dh)
        out = out.transpose(1, 2).reshape(B, Lq, E)                        # (B, Lq, E)
        return self.out_proj(out), weights
