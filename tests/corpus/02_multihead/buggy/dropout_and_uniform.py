# corpus: buggy
# fails: test_deterministic test_fully_masked_rows
# diagnosis: changes between two identical calls | whatever the randomness: Fully masked rows get uniform weights | richer input, your code raises an error: A constant you fill with does not fit in float16
"""Buggy, twice: dropout (nn.Dropout, p=0.1) is left on, and masked scores are filled with -1e9, so a fully
masked row gets uniform weights, and -1e9 does not fit in float16. All are named: the others are seen with the
dropout held off (the float16 error on a richer, masked input than the random example shown)."""
import math

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
        self.dropout = torch.nn.Dropout(0.1)

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
            scores = scores.masked_fill(~mask, -1e9)
        m = scores.amax(dim=-1, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        e = torch.exp(scores - m)
        s = e.sum(dim=-1, keepdim=True)
        weights = e / torch.where(s > 0, s, torch.ones_like(s))            # (B, H, Lq, Lk)
        weights = self.dropout(weights)
        out = weights @ v                                                  # (B, H, Lq, Dh)
        out = out.transpose(1, 2).reshape(B, Lq, E)                        # (B, Lq, E)
        return self.out_proj(out), weights
