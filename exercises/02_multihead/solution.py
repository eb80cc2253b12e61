"""02_multihead: multi-head attention, batch first. Fill in __init__ and forward.

Grade with:  grade exercises/02_multihead
Not allowed: torch.nn.MultiheadAttention, F.multi_head_attention_forward,
F.scaled_dot_product_attention.
"""

from __future__ import annotations

import math

import torch


class MultiHeadAttention(torch.nn.Module):
    """Multi-head attention, batch first, with the same head split as ``torch.nn.MultiheadAttention``.

        head_h = softmax(Q_h K_h^T / sqrt(Dh)) V_h,   output = out_proj(concat(head_1, ..., head_H))

    Shapes (Dh = E // H):
        query    (B, Lq, E)
        key      (B, Lk, E)
        value    (B, Lk, E)
        mask     bool, broadcastable to (B, H, Lq, Lk); True = may attend,
                 e.g. a causal (Lq, Lk) mask or a (B, 1, 1, Lk) padding mask
        output   (B, Lq, E)
        weights  (B, H, Lq, Lk); a fully masked query row gets all-zero weights
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        """Raise ValueError when embed_dim % num_heads != 0; then create exactly four submodules,
        q_proj, k_proj, v_proj and out_proj, each torch.nn.Linear(embed_dim, embed_dim, bias=bias)."""
        raise NotImplementedError("02_multihead: implement MultiHeadAttention.__init__")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (output (B, Lq, E), weights (B, H, Lq, Lk))."""
        raise NotImplementedError("02_multihead: implement MultiHeadAttention.forward")
