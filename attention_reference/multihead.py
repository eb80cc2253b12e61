"""Reference for 02_multihead: multi-head attention, batch first, vectorised over batch and heads.

``multihead_attention`` is a pure function of the inputs and a state dict, so the
grader can compute oracles in float64 from the same weights it loads into the
student's module; ``MultiHeadAttention.forward`` is that function applied to the
module's own parameters.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")



# Each reference is also graded as a single-file submission (`grade --submission
# attention_reference/<name>.py`), and a submission cannot import other modules of the
# project, so this module keeps its own copy of the masked softmax of
# attention_reference/softmax.py (see there for why it is written this way).
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

def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention with an optional boolean mask.

        weights = masked_softmax(Q K^T / sqrt(d_k), mask)     (over the keys)
        out     = weights V

    Shapes:
        q        (..., Lq, d_k)
        k        (..., Lk, d_k)
        v        (..., Lk, d_v)
        mask     bool, broadcastable to (..., Lq, Lk); True = may attend
        out      (..., Lq, d_v)
        weights  (..., Lq, Lk); a fully masked row is all zeros (and so is its output)
    """
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)                  # (..., Lq, d_k) @ (..., d_k, Lk) -> (..., Lq, Lk)
    weights = _masked_softmax(scores, mask, dim=-1)
    out = weights @ v                                                   # (..., Lq, Lk) @ (..., Lk, d_v) -> (..., Lq, d_v)
    return out, weights


def _check_heads(embed_dim: int, num_heads: int) -> None:
    if num_heads < 1 or embed_dim < 1:
        raise ValueError(f"embed_dim={embed_dim} and num_heads={num_heads} must both be positive")
    if embed_dim % num_heads != 0:
        raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")


def multihead_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        params: dict[str, torch.Tensor], num_heads: int,
                        mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-head attention from a state dict (``q_proj.weight``, ``q_proj.bias``, ...; biases optional).

        Q = query Wq^T + bq,  K = key Wk^T + bk,  V = value Wv^T + bv
        head_h = softmax(Q_h K_h^T / sqrt(Dh)) V_h       Q_h = features h*Dh:(h+1)*Dh of Q
        output = concat(head_1, ..., head_H) Wo^T + bo

    Shapes (Dh = E // H):
        query    (B, Lq, E)
        key      (B, Lk, E)
        value    (B, Lk, E)
        mask     bool, broadcastable to (B, H, Lq, Lk); True = may attend
        output   (B, Lq, E)
        weights  (B, H, Lq, Lk), per head, not averaged
    """
    B, Lq, E = query.shape
    Lk = key.shape[1]
    H = num_heads
    _check_heads(E, H)
    if key.shape != (B, Lk, E) or value.shape != (B, Lk, E):
        raise ValueError(f"expected key and value of shape (B={B}, Lk, E={E}) with the same Lk; got "
                         f"query {tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
    Dh = E // H

    def project(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, params[f"{name}.weight"], params.get(f"{name}.bias"))

    # 1) project
    q = project(query, "q_proj")                                        # (B, Lq, E)
    k = project(key, "k_proj")                                          # (B, Lk, E)
    v = project(value, "v_proj")                                        # (B, Lk, E)
    # 2) split heads: head h takes features h*Dh:(h+1)*Dh
    q = q.view(B, Lq, H, Dh).transpose(1, 2)                            # (B, Lq, E) -> (B, H, Lq, Dh)
    k = k.view(B, Lk, H, Dh).transpose(1, 2)                            # (B, Lk, E) -> (B, H, Lk, Dh)
    v = v.view(B, Lk, H, Dh).transpose(1, 2)                            # (B, Lk, E) -> (B, H, Lk, Dh)
    # 3) attend, every batch item and head at once
    heads, weights = scaled_dot_product_attention(q, k, v, mask)       # (B, H, Lq, Dh), (B, H, Lq, Lk)
    # 4) merge heads and project
    merged = heads.transpose(1, 2).reshape(B, Lq, E)                   # (B, H, Lq, Dh) -> (B, Lq, H, Dh) -> (B, Lq, E)
    output = project(merged, "out_proj")                                # (B, Lq, E)
    return output, weights


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
        super().__init__()
        _check_heads(embed_dim, num_heads)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (output (B, Lq, E), weights (B, H, Lq, Lk))."""
        if query.shape[-1] != self.embed_dim:
            raise ValueError(f"query has {query.shape[-1]} features, expected embed_dim={self.embed_dim}")
        params = dict(self.named_parameters())
        return multihead_attention(query, key, value, params, self.num_heads, mask)
