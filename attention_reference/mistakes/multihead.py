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
            {"scale": "none"},
            hint='Divide the scores by math.sqrt(head_dim): (q @ k.transpose(-2, -1)) / math.sqrt(Dh).'),
    Mistake("scale_by_d", "Your scores are divided by d_k instead of sqrt(d_k).", {"scale": "d"},
            hint='Divide by the square root of head_dim, math.sqrt(Dh), not by Dh.'),
    Mistake("scale_by_embed_dim", "Your scores are scaled by sqrt(embed_dim); use sqrt(head_dim), "
            "the size of one head's queries and keys.", {"scale": "sqrt_e"},
            hint='Divide by math.sqrt(embed_dim // num_heads), the size of one head.'),
    Mistake("softmax_query_axis", "Softmax was taken over the query axis (dim=-2) instead of the keys (dim=-1).",
            {"softmax_dim": -2},
            hint='Normalise over the keys: softmax along dim=-1 of the (B, H, Lq, Lk) scores.'),
    Mistake("softmax_head_axis", "Softmax was taken over the heads (dim=1 of (B, H, Lq, Lk)) instead of the "
            "keys (dim=-1).", {"softmax_dim": 1}, hint="Normalise over the keys: softmax along dim=-1."),
    Mistake("split_without_transpose", "Heads were split with view(B, H, L, Dh) instead of "
            "view(B, L, H, Dh).transpose(1, 2).", {"split": "view_h_first"},
            hint='Split heads with x.view(B, L, H, Dh).transpose(1, 2).'),
    Mistake("merge_without_transpose", "Heads were merged with reshape(B, L, E) without first "
            "transposing (B, H, L, Dh) back to (B, L, H, Dh).", {"merge": "no_transpose"},
            hint='Merge heads with out.transpose(1, 2).reshape(B, Lq, E) (transpose first).'),
    Mistake("inverted_mask", "Your mask is inverted: True in the mask should mean 'may attend'.",
            {"mask": "inverted"},
            hint="Fill where the mask is False: scores.masked_fill(~mask, float('-inf'))."),
    Mistake("mask_ignored", "The mask is ignored: masked positions still get attention weight.",
            {"mask": "ignored"},
            hint="Apply the mask to the scores before the softmax: scores.masked_fill(~mask, float('-inf'))."),
    Mistake("mask_after_softmax", "The mask was applied after the softmax (zeroing weights) without "
            "renormalising; mask the scores before the softmax.", {"mask": "after_softmax"},
            hint='Fill masked scores with -inf before the softmax, so the kept weights sum to 1.'),
    Mistake("nan_fully_masked", "Fully masked rows give NaN: when every key of a row is masked, "
            "return zero weights instead of softmax of all -inf.", {"fully_masked": "nan"},
            hint="Replace a non-finite row max by 0 and divide only where the row's sum is > 0, so "
                 "an empty row is all zeros."),
    Mistake("uniform_fully_masked", "Fully masked rows get uniform weights (you filled with a large "
            "negative number); they must get all-zero weights.", {"fully_masked": "uniform"},
            hint="Fill with float('-inf') (not -1e9), replace a non-finite max by 0 and divide only "
                 "where the sum is > 0."),
    Mistake("additive_mask", "Your mask is a finite penalty added to the scores ((1 - mask) * -10000): a "
            "masked key whose score is large still gets weight (it leaks into the output), and a fully masked "
            "row gets ordinary weights instead of zeros.", {"mask": "additive"},
            hint="Fill masked scores with -inf, scores.masked_fill(~mask, float('-inf')), and give rows with "
                 "no key left zero weights."),
    Mistake("no_out_proj", "The output projection (out_proj) is never applied.", {"out_proj": False},
            hint='Apply self.out_proj to the merged heads before returning.'),
    Mistake("value_not_projected", "The values are not projected: apply v_proj to value.",
            {"value_proj": "none"},
            hint='Use v = self.v_proj(value) before splitting heads.'),
    Mistake("key_proj_for_values", "The values are projected with k_proj instead of v_proj.",
            {"value_proj": "k"},
            hint='Project the values with self.v_proj, not self.k_proj.'),
    Mistake("query_key_swapped", "Queries and keys are swapped: scores should be Q K^T (query rows, "
            "key columns).", {"swap_qk": True},
            hint='Compute q @ k.transpose(-2, -1): query rows, key columns.'),
    Mistake("softmax_without_max", "Your softmax exponentiates the scores without subtracting each row's max: "
            "at realistic magnitudes (scores near 100 in float32, near 12 in float16) exp overflows and "
            "inf / inf is NaN.", {"softmax": "no_max"},
            hint="Subtract scores.amax(dim=-1, keepdim=True) before exp (or write the stable softmax once and "
                 "reuse it)."),
    Mistake("scale_after_softmax", "The 1/sqrt(d_k) scale is applied after the softmax: the weights are "
            "divided by sqrt(head_dim), so a row sums to 1/sqrt(head_dim), not 1.", {"scale": "after_softmax"},
            hint="Scale the scores, not the weights: softmax(Q K^T / sqrt(head_dim))."),
    Mistake("mask_wrong_batch_items", "Your padding mask reaches the wrong batch items: the scores are "
            "laid out head-major ((H*B, Lq, Lk), index h*B + b) and the mask batch-major (repeat_interleave), "
            "or the other way round, so row b gets another row's padding.", {"mask_layout": "head_major"},
            hint="Keep scores as (B, H, Lq, Lk) and let the mask broadcast (mask of shape (B, 1, 1, Lk)); if "
                 "you flatten to (B*H, ...), flatten the mask the same way (b*H + h)."),
    Mistake("mask_wrong_batch_items_repeat", "Your padding mask reaches the wrong batch items: the scores are "
            "laid out batch-major ((B*H, Lq, Lk), index b*H + h) and the mask repeated with repeat(H, ...), "
            "which is head-major, so row b gets another row's padding.", {"mask_layout": "repeat"},
            hint="Keep scores as (B, H, Lq, Lk) and let the mask broadcast (mask of shape (B, 1, 1, Lk)); if "
                 "you flatten to (B*H, ...), use mask.repeat_interleave(H, dim=0)."),
    Mistake("computed_in_float32", "Your float64 result is only as accurate as float32: it was computed in "
            "float32 and cast back (a .float(), or a softmax in float32 for 'mixed precision').", {},
            hint="Compute in the inputs' dtype throughout: no .float() on the way.", precision="float32"),
    Mistake("float32_scale_constant", "Your scale is a float32 constant (torch.tensor(math.sqrt(d)) is "
            "float32): float64 scores divided by a float32-rounded sqrt(d_k) are only as accurate as float32.",
            {"scale": "sqrt_dh_float32"},
            hint="Divide by a Python float, math.sqrt(head_dim), or make the constant with dtype=query.dtype."),
)


def run(mistake: Mistake, query, key, value, params, num_heads, mask=None):
    """The output a submission that makes ``mistake`` would give."""
    return compute(query, key, value, params, num_heads, mask, **mistake.switches)


def compute(query, key, value, params, num_heads, attn_mask=None, *, scale="sqrt_dh", softmax_dim=-1,
            split="transpose", merge="transpose", mask="true_attends", fully_masked="zeros",
            out_proj=True, value_proj="v", swap_qk=False, softmax="stable", mask_layout="broadcast"):
    """Multi-head attention with switches; the defaults give the right answer.

    Shapes: query (B, Lq, E), key/value (B, Lk, E), attn_mask broadcastable to (B, H, Lq, Lk).
    Returns (output (B, Lq, E), weights (B, H, Lq, Lk)). Computed in the inputs' dtype (a
    softmax without max overflows where a submission's does).
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
    divisor = {"sqrt_dh": math.sqrt(Dh), "none": 1.0, "d": float(Dh), "sqrt_e": math.sqrt(E),
               "after_softmax": 1.0, "sqrt_dh_float32": float(torch.tensor(math.sqrt(Dh)))}[scale]
    scores = q @ k.transpose(-2, -1) / divisor                          # (B, H, Lq, Lk)

    allowed = None
    if attn_mask is not None and mask != "ignored":
        allowed = torch.broadcast_to(attn_mask, scores.shape)
        if mask == "inverted":
            allowed = ~allowed
        if mask_layout != "broadcast":
            allowed = _relaid(allowed, B, H, mask_layout)
    if allowed is not None and mask == "additive":
        scores = scores + (~allowed).to(scores.dtype) * -10000.0        # a penalty, not a fill
        allowed = None                                                  # the softmax sees every key
    if allowed is not None and mask != "after_softmax":
        # a large negative fill that fits the dtype (-1e9 raises in float16; -1e4 does not, and is as uniform)
        fill = max(-1e9, torch.finfo(scores.dtype).min) if fully_masked == "uniform" else float("-inf")
        scores = scores.masked_fill(~allowed, fill)
    if softmax == "no_max":
        exp = torch.exp(scores)                                         # overflows at large scores
        total = exp.sum(dim=softmax_dim, keepdim=True)
        if fully_masked != "nan":                                       # the rest right: empty rows give 0
            total = torch.where(total > 0, total, torch.ones_like(total))
        weights = exp / total
    elif fully_masked == "nan" or allowed is None or mask == "after_softmax":
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
    if scale == "after_softmax":
        weights = weights / math.sqrt(Dh)
    out = weights @ v                                                   # (B, H, Lq, Dh)
    if merge == "no_transpose":
        out = out.reshape(B, Lq, E)
    else:
        out = out.transpose(1, 2).reshape(B, Lq, E)                     # (B, Lq, E)
    if out_proj:
        out = linear(out, "out_proj")
    return out, weights


def _relaid(allowed: torch.Tensor, B: int, H: int, layout: str) -> torch.Tensor:
    """The mask each (b, h) of the scores gets when scores and mask are flattened in different orders.

    ``head_major``: scores flattened as h*B + b, the mask as repeat_interleave (row i gets mask[i // H]);
    ``repeat``: scores flattened as b*H + h, the mask as repeat(H) (row i gets mask[i % B]).
    """
    rows = allowed[:, 0]                                                # (B, Lq, Lk): a head-independent mask
    b = torch.arange(B)[:, None]
    h = torch.arange(H)[None, :]
    source = (h * B + b) // H if layout == "head_major" else (b * H + h) % B    # (B, H)
    return rows[source]                                                 # (B, H, Lq, Lk)
