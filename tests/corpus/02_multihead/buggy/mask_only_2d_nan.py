# corpus: buggy
# fails: test_padding_mask test_fully_masked_rows
# diagnosis: masking line assumes one shape of mask | And where your code does answer: Fully masked rows give NaN
# passes: test_matches_reference_float64 test_causal_mask
"""Buggy, twice: the mask is written into an (Lq, Lk) bias in place, which works for a causal mask and raises
for a (B, 1, Lq, Lk) or (B, 1, 1, Lk) mask the contract also allows; and a fully masked row gives NaN (a plain
softmax of all -inf). The second is named from the answer to the same mask given as (Lq, Lk)."""
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
        bias = torch.zeros(Lq, Lk, dtype=scores.dtype)
        if mask is not None:
            bias.masked_fill_(~mask, float("-inf"))
        weights = torch.softmax(scores + bias, dim=-1)                     # (B, H, Lq, Lk)
        out = weights @ v                                                  # (B, H, Lq, Dh)
        out = out.transpose(1, 2).reshape(B, Lq, E)                        # (B, Lq, E)
        return self.out_proj(out), weights
