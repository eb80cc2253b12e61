"""Known mistakes in multi-head attention, as variants of the reference computation.

``variant(...)`` is the reference computation with switches; each entry of
``MISTAKES`` flips one switch (or two, where students typically make both).
"""

from __future__ import annotations

import math

import torch

from attention_reference.mistakes import Mistake

MISTAKES = (
    Mistake("no_scale", "Your scores are not divided by sqrt(d_k): use Q K^T / sqrt(head_dim).",
            {"scale": "none"}),
    Mistake("scale_by_d", "Your scores are divided by d_k instead of sqrt(d_k).", {"scale": "d"}),
    Mistake("scale_by_embed_dim", "Your scores are scaled by sqrt(embed_dim); use sqrt(head_dim), "
            "the size of one head's queries and keys.", {"scale": "sqrt_e"}),
    Mistake("softmax_query_axis", "Softmax was taken over the query axis (dim=-2) instead of the keys (dim=-1).",
            {"softmax_dim": -2}),
    Mistake("split_without_transpose", "Heads were split with view(B, H, L, Dh) instead of "
            "view(B, L, H, Dh).transpose(1, 2).", {"split": "view_h_first"}),
    Mistake("merge_without_transpose", "Heads were merged with reshape(B, L, E) without first "
            "transposing (B, H, L, Dh) back to (B, L, H, Dh).", {"merge": "no_transpose"}),
    Mistake("inverted_mask", "Your mask is inverted: True in the mask should mean 'may attend'.",
            {"mask": "inverted"}),
    Mistake("mask_ignored", "The mask is ignored: masked positions still get attention weight.",
            {"mask": "ignored"}),
    Mistake("mask_after_softmax", "The mask was applied after the softmax (zeroing weights) without "
            "renormalising; mask the scores before the softmax.", {"mask": "after_softmax"}),
    Mistake("nan_fully_masked", "Fully masked rows give NaN: when every key of a row is masked, "
            "return zero weights instead of softmax of all -inf.", {"fully_masked": "nan"}),
    Mistake("uniform_fully_masked", "Fully masked rows get uniform weights (you filled with a large "
            "negative number); they must get all-zero weights.", {"fully_masked": "uniform"}),
    Mistake("no_out_proj", "The output projection (out_proj) is never applied.", {"out_proj": False}),
    Mistake("value_not_projected", "The values are not projected: apply v_proj to value.",
            {"value_proj": "none"}),
    Mistake("key_proj_for_values", "The values are projected with k_proj instead of v_proj.",
            {"value_proj": "k"}),
    Mistake("query_key_swapped", "Queries and keys are swapped: scores should be Q K^T (query rows, "
            "key columns).", {"swap_qk": True}),
)


def run(mistake: Mistake, query, key, value, params, num_heads, mask=None):
    """The output a submission that makes ``mistake`` would give."""
    return compute(query, key, value, params, num_heads, mask, **mistake.switches)


def compute(query, key, value, params, num_heads, attn_mask=None, *, scale="sqrt_dh", softmax_dim=-1,
            split="transpose", merge="transpose", mask="true_attends", fully_masked="zeros",
            out_proj=True, value_proj="v", swap_qk=False):
    """Multi-head attention with switches; the defaults give the right answer.

    Shapes: query (B, Lq, E), key/value (B, Lk, E), attn_mask broadcastable to (B, H, Lq, Lk).
    Returns (output (B, Lq, E), weights (B, H, Lq, Lk)).
    """
    B, Lq, E = query.shape
    Lk = key.shape[1]
    H = num_heads
    Dh = E // H

    def linear(x, name):
        y = x @ params[f"{name}.weight"].T
        bias = params.get(f"{name}.bias")
        return y if bias is None else y + bias

    q = linear(query, "q_proj")                                         # (B, Lq, E)
    k = linear(key, "k_proj")                                           # (B, Lk, E)
    v = {"v": lambda: linear(value, "v_proj"), "k": lambda: linear(value, "k_proj"),
         "none": lambda: value}[value_proj]()                           # (B, Lk, E)

    def heads(x, L):
        if split == "view_h_first":
            return x.reshape(B, H, L, Dh)                               # wrong split
        return x.reshape(B, L, H, Dh).transpose(1, 2)                   # (B, H, L, Dh)

    q, k, v = heads(q, Lq), heads(k, Lk), heads(v, Lk)
    if swap_qk:
        if Lq != Lk:
            raise ValueError("swap_qk needs Lq == Lk")
        q, k = k, q
    divisor = {"sqrt_dh": math.sqrt(Dh), "none": 1.0, "d": float(Dh), "sqrt_e": math.sqrt(E)}[scale]
    scores = q @ k.transpose(-2, -1) / divisor                          # (B, H, Lq, Lk)

    allowed = None
    if attn_mask is not None and mask != "ignored":
        allowed = torch.broadcast_to(attn_mask, scores.shape)
        if mask == "inverted":
            allowed = ~allowed
    if allowed is not None and mask != "after_softmax":
        fill = -1e9 if fully_masked == "uniform" else float("-inf")
        scores = scores.masked_fill(~allowed, fill)
    if fully_masked == "nan" or allowed is None or mask == "after_softmax":
        weights = torch.softmax(scores, dim=softmax_dim)
    else:
        finite_max = scores.amax(dim=softmax_dim, keepdim=True).nan_to_num(0.0, 0.0, 0.0)
        finite_max = torch.where(torch.isfinite(finite_max), finite_max, torch.zeros_like(finite_max))
        exp = torch.exp(scores - finite_max)
        total = exp.sum(dim=softmax_dim, keepdim=True)
        weights = torch.where(total > 0, exp / total.clamp_min(torch.finfo(total.dtype).tiny),
                              torch.zeros_like(exp))
    if allowed is not None and mask == "after_softmax":
        weights = weights * allowed
    out = weights @ v                                                   # (B, H, Lq, Dh)
    if merge == "no_transpose":
        out = out.reshape(B, Lq, E)
    else:
        out = out.transpose(1, 2).reshape(B, Lq, E)                     # (B, Lq, E)
    if out_proj:
        out = linear(out, "out_proj")
    return out, weights
