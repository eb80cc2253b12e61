# corpus: correct
"""Correct: computes attention in float64 and casts back; masks with a large negative number."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.h = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def _split(self, x):
        B, L, E = x.shape
        return x.view(B, L, self.h, E // self.h).transpose(1, 2)

    def forward(self, query, key, value, mask=None):
        dtype = query.dtype
        q = self._split(self.q_proj(query)).double()
        k = self._split(self.k_proj(key)).double()
        v = self._split(self.v_proj(value)).double()
        scores = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5
        if mask is not None:
            allowed = torch.broadcast_to(mask, scores.shape)
            scores = scores.masked_fill(~allowed, -1e30)
        weights = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        if mask is not None:
            weights = weights * allowed.any(dim=-1, keepdim=True)
        out = (weights @ v).to(dtype)
        B, H, L, Dh = out.shape
        out = out.transpose(1, 2).reshape(B, L, H * Dh)
        return self.out_proj(out), weights.to(dtype)
