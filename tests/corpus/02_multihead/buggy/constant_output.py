# corpus: buggy
# fails: test_masked_keys_cannot_leak test_matches_reference_float64
"""Returns the same output whatever the inputs: nothing can leak through it, so a check that
only compares the output before and after changing masked keys would pass it."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        B, Lq, _ = query.shape
        Lk = key.shape[1]
        weights = torch.full((B, self.num_heads, Lq, Lk), 1.0 / Lk, dtype=query.dtype)
        return torch.ones_like(query), weights
