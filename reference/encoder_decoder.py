"""Reference for 03_encoder_decoder: additive (Bahdanau) attention.

The sequence-to-sequence model built on it is still to come.
"""

from __future__ import annotations

import torch




# Each reference is also graded as a single-file submission (`grade --submission
# reference/<name>.py`), and a submission cannot import other modules of the
# project, so this module keeps its own copy of the masked softmax of
# reference/softmax.py (see there for why it is written this way).
def _masked_softmax(x: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim`` over entries where ``mask`` (True = may attend); empty slices give zeros."""
    keep = x != float("-inf")
    if mask is not None:
        keep = torch.broadcast_to(mask, x.shape) & keep                        # (...) like x
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
    row_max = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(torch.where(keep, x - row_max, neg_inf))                   # exactly 0 where not kept
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))

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
        weights = _masked_softmax(scores, mask, dim=-1)  # (B, L)
        # 4) weighted sum of the values
        context = (weights[:, None, :] @ values).squeeze(1)             # (B, 1, L) @ (B, L, Dv) -> (B, 1, Dv) -> (B, Dv)
        return context, weights
