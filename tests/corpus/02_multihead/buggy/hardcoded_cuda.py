# corpus: buggy
# skip-if: cuda
# fails: test_matches_reference_float64 test_matches_reference_float32 test_gradients
# diagnosis: puts a tensor on the GPU by name
"""Buggy: creates a tensor on 'cuda' by name; on a machine without a GPU every call fails."""
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
        ones = torch.ones(query.shape[1], key.shape[1], device="cuda")  # "the GPU is faster"
        B, Lq, E = query.shape
        Lk = key.shape[1]
        H = self.num_heads
        Dh = E // H
        q = self.q_proj(query).view(B, Lq, H, Dh)
        k = self.k_proj(key).view(B, Lk, H, Dh)
        v = self.v_proj(value).view(B, Lk, H, Dh)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(Dh)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        row_max = scores.amax(dim=-1, keepdim=True)
        row_max = torch.where(torch.isinf(row_max), torch.zeros_like(row_max), row_max)
        e = torch.exp(scores - row_max)
        total = e.sum(dim=-1, keepdim=True)
        weights = torch.where(total > 0, e / torch.where(total > 0, total, torch.ones_like(total)),
                              torch.zeros_like(e))
        out = torch.einsum("bhqk,bkhd->bqhd", weights, v).reshape(B, Lq, E)
        return self.out_proj(out), weights
