# corpus: buggy
# fails: test_half_precision
# diagnosis: does not fit in float16
# passes: test_matches_reference_float64 test_matches_reference_float32 test_causal_mask test_padding_mask test_fully_masked_rows test_gradients test_masked_keys_cannot_leak
"""Buggy: masks with -1e9, which is right in float32 and float64 (fully masked rows are zeroed afterwards) but overflows float16: only the half-precision check catches it."""
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
            mask = torch.broadcast_to(mask, scores.shape)
            scores = scores.masked_fill(~mask, -1e9)                       # fine in float32, not in float16
        m = scores.amax(dim=-1, keepdim=True)
        e = torch.exp(scores - m)
        weights = e / e.sum(dim=-1, keepdim=True)                          # (B, H, Lq, Lk)
        if mask is not None:
            weights = weights * mask.any(dim=-1, keepdim=True)             # fully masked rows: zeros
        out = weights @ v                                                  # (B, H, Lq, Dh)
        out = out.transpose(1, 2).reshape(B, Lq, E)                        # (B, Lq, E)
        return self.out_proj(out), weights
