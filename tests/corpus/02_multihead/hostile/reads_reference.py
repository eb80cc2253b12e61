# corpus: hostile
"""Hostile: looks for the reference solution in the project and through /proc/<pid>/cwd.

The test fills in __ROOT__ (the project being graded) before grading it."""
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
        import os, glob
        found = glob.glob("__ROOT__/attention_reference/*.py") + glob.glob("__ROOT__/**/multihead.py", recursive=True)
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    found += glob.glob(f"/proc/{pid}/cwd/attention_reference/*.py")
                except OSError:
                    pass
        print("FOUND", found)
        B, Lq, _ = query.shape
        H = 1
        return torch.zeros_like(query), torch.zeros(B, H, Lq, key.shape[1], dtype=query.dtype)
