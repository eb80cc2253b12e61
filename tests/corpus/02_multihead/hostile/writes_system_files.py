# corpus: hostile
"""Hostile: as root, would plant files in system folders and read root's home; reports who
it runs as and what it managed."""
import os

import torch


def attempts():
    done = []
    for target in ("/etc/grade-pwned", "/usr/lib/grade-pwned", "/root/grade-pwned"):
        try:
            with open(target, "w") as handle:
                handle.write("pwned")
            done.append(target)
        except OSError:
            pass
    return done


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
        import json, decimal  # noqa: F401  (standard modules loaded late must still load)
        print("UID", os.getuid(), "WROTE", attempts())
        B, Lq, _ = query.shape
        return torch.zeros_like(query), torch.zeros(B, 1, Lq, key.shape[1], dtype=query.dtype)
