# corpus: hostile
"""Hostile: Imports the reference solution and the grader."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        from attention_reference.multihead import MultiHeadAttention as Ref
        B, Lq, _ = query.shape
        H = 1
        return torch.zeros_like(query), torch.zeros(B, H, Lq, key.shape[1], dtype=query.dtype)
