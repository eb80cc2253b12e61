"""Reference for 03_encoder_decoder: additive (Bahdanau) attention.

The sequence-to-sequence model built on it is still to come.
"""

from __future__ import annotations

import torch

from reference.softmax import masked_softmax, softmax


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
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (context (B, Dv), weights (B, L))."""
        B, L, _ = keys.shape
        if query.shape[0] != B or values.shape[:2] != (B, L):
            raise ValueError(f"expected query (B, Dq), keys (B, L, Dk), values (B, L, Dv) with the same B and L; "
                             f"got {tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}")
        # 1) project query and keys into the hidden space
        q = self.query_proj(query)[:, None, :]                          # (B, Dq) -> (B, 1, Hd)
        k = self.key_proj(keys)                                         # (B, L, Dk) -> (B, L, Hd)
        # 2) score every position
        scores = self.score(torch.tanh(q + k)).squeeze(-1)              # (B, L, Hd) -> (B, L, 1) -> (B, L)
        # 3) normalise over the positions
        weights = softmax(scores, dim=-1) if mask is None else masked_softmax(scores, mask, dim=-1)  # (B, L)
        # 4) weighted sum of the values
        context = (weights[:, None, :] @ values).squeeze(1)             # (B, 1, L) @ (B, L, Dv) -> (B, 1, Dv) -> (B, Dv)
        return context, weights
