# corpus: buggy
# fails: test_fully_masked_rows test_masked_keys_cannot_leak
# diagnosis: finite penalty added to the scores
"""Buggy: the mask is added to the scores as a finite penalty, (1 - mask) * -10000, as BERT-style code builds
it. Partly masked rows come out right (exp(-10000) is 0), but a fully masked row gets the ordinary softmax of
its scores instead of zeros, and a masked key with a huge score still gets weight."""
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
            scores = scores + (1.0 - mask.to(scores.dtype)) * -10000.0
        weights = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
        weights = weights / weights.sum(dim=-1, keepdim=True)              # (B, H, Lq, Lk)
        out = (weights @ v).transpose(1, 2).reshape(B, Lq, E)              # (B, Lq, E)
        return self.out_proj(out), weights
