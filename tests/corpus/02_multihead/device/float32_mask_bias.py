# corpus: device
# needs: cuda
# fails: test_half_precision
# passes: test_matches_reference_float64 test_causal_mask
# diagnosis: comes out float32
"""Device: the mask becomes an additive bias made with torch.zeros(..., device=q.device) but no dtype=:
float32, so half-precision scores are silently promoted to float32 (what mixed-precision code on a
GPU meets first). float64 and float32 inputs are right."""
import math

import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        B, Lq, E = query.shape
        Lk = key.shape[1]
        H, Dh = self.num_heads, self.head_dim
        q = self.q_proj(query).view(B, Lq, H, Dh).transpose(1, 2)        # (B, H, Lq, Dh)
        k = self.k_proj(key).view(B, Lk, H, Dh).transpose(1, 2)          # (B, H, Lk, Dh)
        v = self.v_proj(value).view(B, Lk, H, Dh).transpose(1, 2)        # (B, H, Lk, Dh)
        scores = q @ k.transpose(-2, -1) / math.sqrt(Dh)                 # (B, H, Lq, Lk)
        if mask is not None:
            bias = torch.zeros(torch.broadcast_shapes(mask.shape, scores.shape), device=q.device)
            bias = bias.masked_fill(~mask, float("-inf"))
            scores = scores + bias
        m = scores.amax(-1, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        e = torch.exp(scores - m)
        total = e.sum(-1, keepdim=True)
        weights = e / torch.where(total > 0, total, torch.ones_like(total))
        out = (weights @ v).transpose(1, 2).reshape(B, Lq, E)            # (B, Lq, E)
        return self.out_proj(out), weights
