"""Known mistakes in additive (Bahdanau) attention, as variants of the reference computation."""

from __future__ import annotations

import torch

from attention_reference.mistakes import Mistake

MISTAKES = (
    Mistake("no_tanh", "The tanh is missing: scores = score(tanh(query_proj(q) + key_proj(k))).",
            {"tanh": False},
            hint='Apply torch.tanh to query_proj(query)[:, None, :] + key_proj(keys) before score.'),
    Mistake("softmax_batch_axis", "Softmax was taken over the batch axis (dim=0) instead of the positions.",
            {"softmax_dim": 0},
            hint='Normalise over the positions: softmax along dim=-1 of the (B, L) scores.'),
    Mistake("inverted_mask", "Your mask is inverted: True in the mask means a real position.",
            {"mask_mode": "inverted"},
            hint="Fill where the mask is False: scores.masked_fill(~mask, float('-inf'))."),
    Mistake("mask_ignored", "The mask is ignored: padding positions still get attention weight.",
            {"mask_mode": "ignored"},
            hint="Fill padding with -inf before the softmax: scores.masked_fill(~mask, float('-inf'))."),
    Mistake("nan_fully_masked", "A row with no real position gives NaN; it must give zero weights and a "
            "zero context.", {"fully_masked": "nan"},
            hint='Replace a non-finite max by 0 and divide only where the sum is > 0: an empty row gives zeros.'),
    Mistake("context_from_keys", "The context is a weighted sum of the keys; it should sum the values.",
            {"context": "keys"}, hint="context = (weights[:, None, :] @ values).squeeze(1)."),
    Mistake("relu_not_tanh", "The scores use ReLU where the README says tanh: scores = "
            "score(tanh(query_proj(q) + key_proj(k))).", {"tanh": "relu"},
            hint="Use torch.tanh on query_proj(query)[:, None, :] + key_proj(keys)."),
    Mistake("uniform_fully_masked", "A row with no real position gets uniform weights (padding filled with a "
            "large negative number instead of -inf); it must give zero weights and a zero context.",
            {"fully_masked": "uniform"},
            hint="Fill padding with float('-inf'), replace a non-finite max by 0 and divide only where the sum "
                 "is > 0."),
    Mistake("softmax_without_max", "Your softmax exponentiates the scores without subtracting each row's max: "
            "at realistic magnitudes (scores near 100 in float32) exp overflows and inf / inf is NaN.",
            {"softmax": "no_max"}, hint="Subtract scores.amax(dim=-1, keepdim=True) before exp."),
    Mistake("computed_in_float32", "Your float64 result is only as accurate as float32: part of the computation "
            "runs in float32 (a .float(), a float32 constant or a softmax in float32).", {},
            hint="Compute in the inputs' dtype throughout: no .float(), and make constants with dtype=query.dtype.",
            precision="float32"),
)


def compute(query, keys, values, params, mask=None, *, tanh=True, softmax_dim=-1, mask_mode="normal",
            fully_masked="zeros", context="values", softmax="stable"):
    """Additive attention with switches; the defaults give the right answer.

    Shapes: query (B, Dq), keys (B, L, Dk), values (B, L, Dv), mask (B, L).
    Returns (context (B, Dv), weights (B, L)). ``tanh``: True, False (none) or "relu".
    """
    hidden = query @ params["query_proj.weight"].T                     # (B, Hd)
    hidden = hidden[:, None, :] + keys @ params["key_proj.weight"].T    # (B, L, Hd)
    if tanh == "relu":
        hidden = torch.relu(hidden)
    elif tanh:
        hidden = torch.tanh(hidden)
    scores = (hidden @ params["score.weight"].T).squeeze(-1)            # (B, L)
    allowed = None
    if mask is not None and mask_mode != "ignored":
        allowed = ~mask if mask_mode == "inverted" else mask
        fill = max(-1e9, torch.finfo(scores.dtype).min) if fully_masked == "uniform" else float("-inf")
        scores = scores.masked_fill(~allowed, fill)
    if softmax == "no_max":
        e = torch.exp(scores)                                           # overflows at large scores
        total = e.sum(dim=softmax_dim, keepdim=True)
        weights = e / torch.where(total > 0, total, torch.ones_like(total))
    elif fully_masked in ("nan", "uniform") or allowed is None:
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
    return compute(query, keys, values, params, mask, **mistake.switches)
