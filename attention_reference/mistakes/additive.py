"""Known mistakes in additive (Bahdanau) attention, as variants of the reference computation."""

from __future__ import annotations

import torch

from attention_reference.mistakes import Mistake

MISTAKES = (
    Mistake("no_tanh", "The tanh is missing: scores = score(tanh(query_proj(q) + key_proj(k))).",
            {"tanh": False}),
    Mistake("softmax_batch_axis", "Softmax was taken over the batch axis (dim=0) instead of the positions.",
            {"softmax_dim": 0}),
    Mistake("inverted_mask", "Your mask is inverted: True in the mask means a real position.", {"mask": "inverted"}),
    Mistake("mask_ignored", "The mask is ignored: padding positions still get attention weight.",
            {"mask": "ignored"}),
    Mistake("nan_fully_masked", "A row with no real position gives NaN; it must give zero weights and a "
            "zero context.", {"fully_masked": "nan"}),
    Mistake("context_from_keys", "The context is a weighted sum of the keys; it should sum the values.",
            {"context": "keys"}),
)


def compute(query, keys, values, params, mask=None, *, tanh=True, softmax_dim=-1, mask_mode="normal",
            fully_masked="zeros", context="values"):
    """Additive attention with switches; the defaults give the right answer.

    Shapes: query (B, Dq), keys (B, L, Dk), values (B, L, Dv), mask (B, L).
    Returns (context (B, Dv), weights (B, L)).
    """
    hidden = query @ params["query_proj.weight"].T                     # (B, Hd)
    hidden = hidden[:, None, :] + keys @ params["key_proj.weight"].T    # (B, L, Hd)
    if tanh:
        hidden = torch.tanh(hidden)
    scores = (hidden @ params["score.weight"].T).squeeze(-1)            # (B, L)
    allowed = None
    if mask is not None and mask_mode != "ignored":
        allowed = ~mask if mask_mode == "inverted" else mask
        scores = scores.masked_fill(~allowed, float("-inf"))
    if fully_masked == "nan" or allowed is None:
        weights = torch.softmax(scores, dim=softmax_dim)
    else:
        top = scores.amax(dim=softmax_dim, keepdim=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        e = torch.exp(scores - top)
        total = e.sum(dim=softmax_dim, keepdim=True)
        weights = torch.where(total > 0, e / total.clamp_min(torch.finfo(e.dtype).tiny), torch.zeros_like(e))
    source = keys if context == "keys" else values
    out = (weights[:, None, :] @ source).squeeze(1)                     # (B, D)
    return out, weights


def run(mistake: Mistake, query, keys, values, params, mask=None):
    switches = dict(mistake.switches)
    if "mask" in switches:
        switches["mask_mode"] = switches.pop("mask")
    return compute(query, keys, values, params, mask, **switches)
