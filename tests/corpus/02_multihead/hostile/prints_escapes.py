# corpus: hostile
"""Hostile: writes terminal escape sequences, carriage returns and lone surrogates into
what the grader prints and saves: its printed output and its exceptions' messages. On an
unsanitised terminal the FAIL lines would be rewritten as PASS lines and a fake score
printed; a lone surrogate would make writing the results fail."""
import torch

FAKE = "\r\x1b[2K\x1b[32m  PASS      2/2  everything\x1b[0m\n\x1b[1A\x1b[2KScore: 21/21\ud800"

print(FAKE)
print("\x1b]0;grade-pwned\x07\x9b31m")


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(FAKE)
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        raise RuntimeError(FAKE)
