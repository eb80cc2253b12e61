"""03_encoder_decoder: additive (Bahdanau) attention. Fill in __init__ and forward.

Grade with:  grade exercises/03_encoder_decoder
Not allowed: torch.nn.MultiheadAttention, torch.nn.Transformer and its
Encoder/Decoder(Layer) classes, F.scaled_dot_product_attention.
(The sequence-to-sequence model built on this module comes in a later version.)
"""

from __future__ import annotations

import torch


class AdditiveAttention(torch.nn.Module):
    """Additive attention of one decoder state over L encoder outputs.

        scores_l = w^T tanh(Wq query + Wk keys_l)        (score, query_proj, key_proj; no biases)
        weights  = masked_softmax(scores, mask)          (over the L positions)
        context  = sum_l weights_l * values_l

    Shapes:
        query    (B, Dq)
        keys     (B, L, Dk)
        values   (B, L, Dv)
        mask     (B, L) bool; True = real position
        context  (B, Dv)
        weights  (B, L); a row with no real position is all zeros (and so is its context)
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        """Create exactly three submodules, all without bias:
        query_proj = Linear(query_dim, hidden_dim), key_proj = Linear(key_dim, hidden_dim),
        score = Linear(hidden_dim, 1)."""
        raise NotImplementedError("03_encoder_decoder: implement AdditiveAttention.__init__")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (context (B, Dv), weights (B, L))."""
        raise NotImplementedError("03_encoder_decoder: implement AdditiveAttention.forward")
