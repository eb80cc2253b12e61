"""Known mistakes in softmax and masked softmax, as variants of the reference computation.

``compute(...)`` is a (masked) softmax with switches; each entry of ``MISTAKES``
flips one switch. Mistakes are computed in the input's own dtype, so the ones that
overflow (no max subtraction) give the same inf and NaN as a submission that makes them.
"""

from __future__ import annotations

import torch

from attention_reference.mistakes import Mistake

MISTAKES = (
    Mistake("no_max", "Without subtracting the max first, exp overflows for large inputs (inf / inf = NaN) "
            "or underflows to 0 / 0: subtract each slice's max along dim before exp.", {"shift": "none"}),
    Mistake("global_max", "You subtracted one global max (x.max()) instead of each slice's max along dim: "
            "slices far below the global max underflow to 0 / 0.", {"shift": "global"}),
    Mistake("max_last_dim", "The max was taken over the last dimension instead of along dim: use "
            "x.amax(dim=dim, keepdim=True).", {"shift": "last"}),
    Mistake("wrong_dim", "The softmax was taken along the last dimension, not along dim: pass dim to "
            "your max and sum (with keepdim=True).", {"softmax_dim": "last"}),
    Mistake("sum_over_all", "You divided by the sum of all entries instead of the sum along dim: use "
            "e.sum(dim=dim, keepdim=True).", {"total": "all"}),
    Mistake("inverted_mask", "Your mask is inverted: True in the mask means 'takes part', False means "
            "'masked out'.", {"masking": "inverted"}),
    Mistake("mask_ignored", "The mask is ignored: masked entries still get weight.", {"masking": "ignored"}),
    Mistake("mask_after_softmax", "The mask was applied after the softmax (zeroing weights) without "
            "renormalising: put masked entries to -inf before exp.", {"masking": "after_softmax"}),
    Mistake("mask_after_softmax_renormalised", "The mask was applied after the softmax and the weights "
            "renormalised: when masked entries are large, the kept weights underflow to 0 before the mask "
            "is applied. Put masked entries to -inf before exp.", {"masking": "after_renormalised"}),
    Mistake("additive_penalty", "The mask was applied by adding a finite penalty (-1e4) to masked entries: "
            "a masked entry with a large value still gets weight. Use -inf.", {"masking": "additive"}),
    Mistake("masked_scores_zeroed", "Masked entries were set to 0 (x * mask) instead of being left out: "
            "exp(0) still gives them weight; put them to -inf.", {"masking": "zeroed"}),
    Mistake("nan_empty", "A slice with nothing to attend to (all masked or all -inf) gives NaN: its max "
            "is -inf and -inf - (-inf) is NaN. Replace a non-finite max by 0 and return zeros there.",
            {"empty": "nan"}),
    Mistake("uniform_empty", "A fully masked slice gets uniform weights (masked entries were filled with "
            "a large negative number); it must be all zeros: use -inf and zero empty slices.",
            {"empty": "uniform"}),
)


def run(mistake: Mistake, x: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
    """The output a submission that makes ``mistake`` would give.

    Raises ValueError for a mask mistake without a mask (it cannot explain a softmax).
    """
    if mask is None and "masking" in mistake.switches:
        raise ValueError(f"{mistake.id} needs a mask")
    return compute(x, mask, dim, **mistake.switches)


def compute(x, mask=None, dim=-1, *, shift="slice", softmax_dim="given", total="slice", masking="keeps",
            empty="zeros"):
    """(Masked) softmax along ``dim`` with switches; the defaults give the right answer.

    Shapes: x (...), mask bool broadcastable to x (True = takes part). Returns x's shape.
    """
    d = dim if softmax_dim == "given" else -1
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    given = torch.ones(x.shape, dtype=torch.bool) if mask is None else torch.broadcast_to(mask, x.shape)
    if masking == "inverted":
        given = ~given
    elif masking in ("ignored", "after_softmax", "after_renormalised"):
        given = torch.ones(x.shape, dtype=torch.bool)
    elif masking == "additive":
        x = x - 1e4 * (~given).to(x.dtype)                              # masked entries move by -1e4
        empties = ~given.any(dim=d, keepdim=True)                       # slices a right mask would empty
        given = torch.ones(x.shape, dtype=torch.bool)
    elif masking == "zeroed":
        x = x * given                                                   # masked scores become 0
        given = torch.ones(x.shape, dtype=torch.bool)
    if empty == "uniform":
        fill = max(-1e9, torch.finfo(x.dtype).min)
        s = x.masked_fill(~given, fill)                                 # a large negative number, not -inf
    else:
        s = torch.where(given, x, neg_inf)                              # (...) masked entries -inf
    if shift == "none":
        m = torch.zeros((), dtype=x.dtype)
    elif shift == "global":
        m = s.max()
    else:
        m = s.amax(dim=d if shift == "slice" else -1, keepdim=True)
    if empty != "nan":
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))      # empty slices shift by 0
    e = torch.exp(s - m)                                                # (...)
    t = e.sum() if total == "all" else e.sum(dim=d, keepdim=True)
    if empty == "nan" or shift != "slice":
        w = e / t                                                       # no guard: 0 / 0 is NaN
    else:
        w = e / torch.where(t > 0, t, torch.ones_like(t))               # empty slices stay 0
    if masking in ("after_softmax", "after_renormalised") and mask is not None:
        w = w * torch.broadcast_to(mask, x.shape)
    if masking == "after_renormalised" and mask is not None:
        t = w.sum(dim=d, keepdim=True)
        w = w / torch.where(t > 0, t, torch.ones_like(t))
    if masking == "additive" and mask is not None:
        w = w.masked_fill(empties, 0.0)                                 # empty slices zeroed by hand
    return w
