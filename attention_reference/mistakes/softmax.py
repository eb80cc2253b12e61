"""Known mistakes in softmax and masked softmax, as variants of the reference computation.

``compute(...)`` is a (masked) softmax with switches; each entry of ``MISTAKES``
flips one switch. Mistakes are computed in the input's own dtype, so the ones that
overflow (no max subtraction) give the same inf and NaN as a submission that makes them.
"""

from __future__ import annotations

import torch

from attention_reference.mistakes import Mistake

_NO_MAX = ("Without subtracting the max first, exp overflows for large inputs (inf / inf = NaN) or underflows "
           "to 0 / 0: subtract each slice's max along dim before exp.")
_FLOAT32 = ("Your float64 result is only as accurate as float32: part of the computation runs in float32 (a "
            ".float(), a float32 constant or buffer, or a softmax in float32 for 'mixed precision').")
_FLOAT32_HINT = "Compute in x's own dtype throughout: no .float(), and make constants with dtype=x.dtype."


_EPSILON = ("Your softmax adds a small epsilon ({eps:g}) to the sum it divides by: every weight comes out "
            "slightly too small (about {eps:g} relative), so a slice no longer sums to 1 and float64 accuracy is "
            "lost.")
_EPSILON_HINT = ("Divide by the sum itself; to keep a slice with nothing in it at zeros, guard only that case: "
                 "e / torch.where(s > 0, s, torch.ones_like(s)).")
# "to avoid dividing by zero", as code writes them; a smaller one is within float64's budget: no mistake at all
EPSILONS = (1e-5, 1e-6, 1e-7, 1e-8)


def _softmax_mistakes() -> tuple[Mistake, ...]:
    """The mistakes of a softmax (a fresh set for each function: softmax and masked_softmax are
    written separately, and each may have its own)."""
    return (
        Mistake("no_max", _NO_MAX, {"shift": "none"},
            hint="Subtract each slice's max before exp: m = x.amax(dim=dim, keepdim=True); e = torch.exp(x - m)."),
        Mistake("global_max", "You subtracted one global max (x.max()) instead of each slice's max along dim: "
                "slices far below the global max underflow to 0 / 0.", {"shift": "global"},
                hint="Use m = x.amax(dim=dim, keepdim=True), one max per slice."),
        Mistake("max_last_dim", "The max was taken over the last dimension instead of along dim: use "
                "x.amax(dim=dim, keepdim=True).", {"shift": "last"},
            hint='Take the max along dim, the same dim as the sum: x.amax(dim=dim, keepdim=True).'),
        Mistake("wrong_dim", "The softmax was taken along the last dimension, not along dim: pass dim to "
                "your max and sum (with keepdim=True).", {"softmax_dim": "last"},
            hint='Use dim everywhere: x.amax(dim=dim, keepdim=True) and e.sum(dim=dim, keepdim=True).'),
        Mistake("fixed_dim_0", "The softmax was taken along dimension 0 whatever dim is: pass dim to your max "
                "and sum (with keepdim=True).", {"softmax_dim": 0},
            hint='Use dim everywhere: x.amax(dim=dim, keepdim=True) and e.sum(dim=dim, keepdim=True).'),
        Mistake("fixed_dim_1", "The softmax was taken along dimension 1 whatever dim is: pass dim to your max "
                "and sum (with keepdim=True).", {"softmax_dim": 1},
            hint='Use dim everywhere: x.amax(dim=dim, keepdim=True) and e.sum(dim=dim, keepdim=True).'),
        Mistake("sum_over_all", "You divided by the sum of all entries instead of the sum along dim: use "
                "e.sum(dim=dim, keepdim=True).", {"total": "all"},
            hint='Sum along dim only: e / e.sum(dim=dim, keepdim=True).'),
        Mistake("computed_in_float32", _FLOAT32, {}, hint=_FLOAT32_HINT, precision="float32"),
    ) + tuple(
        Mistake(f"epsilon_in_the_sum_{eps:g}", _EPSILON.format(eps=eps), {"epsilon": eps}, hint=_EPSILON_HINT,
                small=True)
        for eps in EPSILONS)


SOFTMAX = _softmax_mistakes()
MASKING = (
    Mistake("inverted_mask", "Your mask is inverted: True in the mask means 'takes part', False means "
            "'masked out'.", {"masking": "inverted"},
            hint="Fill where the mask is False: x.masked_fill(~mask, float('-inf'))."),
    Mistake("mask_ignored", "The mask is ignored: masked entries still get weight.", {"masking": "ignored"},
            hint="Put masked entries to -inf before exp: x.masked_fill(~mask, float('-inf'))."),
    Mistake("mask_after_softmax", "The mask was applied after the softmax (zeroing weights) without "
            "renormalising: put masked entries to -inf before exp.", {"masking": "after_softmax"},
            hint="Fill masked entries with -inf before exp (x.masked_fill(~mask, float('-inf'))), not after."),
    Mistake("mask_after_softmax_renormalised", "The mask was applied after the softmax and the weights "
            "renormalised: when masked entries are large, the kept weights underflow to 0 before the mask "
            "is applied. Put masked entries to -inf before exp.", {"masking": "after_renormalised"},
            hint="Put masked entries to -inf before exp, so the max is taken over the kept entries only."),
    Mistake("additive_penalty", "The mask was applied by adding a finite penalty (-1e4) to masked entries: "
            "a masked entry with a large value still gets weight. Use -inf.", {"masking": "additive"},
            hint="Replace the penalty by x.masked_fill(~mask, float('-inf'))."),
    Mistake("masked_scores_zeroed", "Masked entries were set to 0 (x * mask) instead of being left out: "
            "exp(0) still gives them weight; put them to -inf.", {"masking": "zeroed"},
            hint="Fill masked entries with -inf (x.masked_fill(~mask, float('-inf'))) instead of "
                 "multiplying by the mask."),
    Mistake("masked_scores_zeroed_in_max", "Masked entries were set to 0 (x * mask) and kept in the max, then "
            "exp was multiplied by the mask: when the real entries lie far below 0 (x = -1000) every exp "
            "underflows and the slice is all zeros, and a masked -inf becomes -inf * 0 = NaN.",
            {"masking": "zeroed_in_max"},
            hint="Take the max over the kept entries only (fill masked ones with -inf first), and never "
                 "multiply x by the mask."),
    Mistake("masked_filler_overflows", "Masked entries were replaced by 0 before exp and zeroed after "
            "(exp(0 - max) * mask): when the real entries lie far below 0 (x = -1000), exp(0 - max) "
            "overflows to inf and inf * 0 = NaN.", {"masking": "zero_filler"},
            hint="Fill masked entries with -inf before exp (exp(-inf) is exactly 0), so no product with the "
                 "mask is needed."),
    Mistake("max_over_masked", "Your max is taken over every entry, masked ones included, and exp is then "
            "multiplied by the mask: when masked entries are large, exp of the real ones underflows to 0 and "
            "the slice comes out zeros (or NaN); a slice that is all -inf gives NaN (-inf - (-inf)).",
            {"masking": "max_over_all"},
            hint="Fill masked entries with -inf before taking the max (x.masked_fill(~mask, float('-inf'))), "
                 "and replace a non-finite max by 0."),
    Mistake("nan_empty", "A slice with nothing to attend to (all masked or all -inf) gives NaN: its max "
            "is -inf and -inf - (-inf) is NaN. Replace a non-finite max by 0 and return zeros there.",
            {"empty": "nan"},
            hint='Replace a non-finite max by 0 (torch.where(torch.isfinite(m), m, 0)) and divide '
                 'only where the sum is > 0.'),
    Mistake("uniform_empty", "A fully masked slice gets uniform weights (masked entries were filled with "
            "a large negative number); it must be all zeros: use -inf and zero empty slices.",
            {"empty": "uniform"},
            hint="Fill with float('-inf'), replace a non-finite max by 0, and divide only where the sum is > 0."),
)
MASKED = _softmax_mistakes() + MASKING    # masked_softmax's own: its softmax part may differ from softmax's
MISTAKES = SOFTMAX + MASKING              # one of each message: what the corpus must show


def run(mistake: Mistake, x: torch.Tensor, mask: torch.Tensor | None = None, dim: int = -1) -> torch.Tensor:
    """The output a submission that makes ``mistake`` would give.

    Raises ValueError for a mask mistake without a mask (it cannot explain a softmax).
    """
    if mask is None and "masking" in mistake.switches:
        raise ValueError(f"{mistake.id} needs a mask")
    return compute(x, mask, dim, **mistake.switches)


def compute(x, mask=None, dim=-1, *, shift="slice", softmax_dim="given", total="slice", masking="keeps",
            empty="zeros", epsilon=0.0):
    """(Masked) softmax along ``dim`` with switches; the defaults give the right answer.

    Shapes: x (...), mask bool broadcastable to x (True = takes part). Returns x's shape.
    ``softmax_dim`` is "given", "last" or a fixed dimension (0, 1). Without a mask the
    masking switches change nothing.
    """
    if mask is None:
        masking = "keeps"
    d = {"given": dim, "last": -1}.get(softmax_dim, softmax_dim)
    d = min(d, x.dim() - 1)                 # a fixed dim 1 of a 1-d input: its only dim (else it raises)
    if masking == "zero_filler":
        keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
        neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
        m = torch.where(keep, x, neg_inf).amax(dim=d, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        e = torch.exp(torch.where(keep, x, torch.zeros_like(x)) - m) * keep   # exp(0 - m) may be inf: inf * 0
        t = e.sum(dim=d, keepdim=True)
        return e / torch.where(t > 0, t, torch.ones_like(t))
    if masking == "max_over_all":
        keep = torch.broadcast_to(mask, x.shape)
        m = x.amax(dim=d, keepdim=True)                                 # masked entries count in the max
        e = torch.exp(x - m) * keep                                     # an all -inf slice: NaN
        t = e.sum(dim=d, keepdim=True)
        if epsilon:
            return e / (t + epsilon)
        return e / t if empty == "nan" else e / torch.where(t > 0, t, torch.ones_like(t))
    if masking == "zeroed_in_max":
        keep = torch.broadcast_to(mask, x.shape)
        s = x * keep                                                    # masked scores 0 (-inf * 0 = NaN)
        m = s.amax(dim=d, keepdim=True)                                 # the zeros count in the max
        e = torch.exp(s - m) * keep
        t = e.sum(dim=d, keepdim=True)
        return e / torch.where(t > 0, t, torch.ones_like(t))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
    given = torch.ones(x.shape, dtype=torch.bool, device=x.device) if mask is None else torch.broadcast_to(mask, x.shape)
    if masking == "inverted":
        given = ~given
    elif masking in ("ignored", "after_softmax", "after_renormalised"):
        given = torch.ones(x.shape, dtype=torch.bool, device=x.device)
    elif masking == "additive":
        x = x - 1e4 * (~given).to(x.dtype)                              # masked entries move by -1e4
        empties = ~given.any(dim=d, keepdim=True)                       # slices a right mask would empty
        given = torch.ones(x.shape, dtype=torch.bool, device=x.device)
    elif masking == "zeroed":
        x = x * given                                                   # masked scores become 0
        given = torch.ones(x.shape, dtype=torch.bool, device=x.device)
    if empty == "uniform":
        fill = max(-1e9, torch.finfo(x.dtype).min)
        s = x.masked_fill(~given, fill)                                 # a large negative number, not -inf
    else:
        s = torch.where(given, x, neg_inf)                              # (...) masked entries -inf
    if shift == "none":
        m = torch.zeros((), dtype=x.dtype, device=x.device)
    elif shift == "global":
        m = s.max()
    else:
        m = s.amax(dim=d if shift == "slice" else -1, keepdim=True)
    if empty != "nan":
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))      # empty slices shift by 0
    e = torch.exp(s - m)                                                # (...)
    t = e.sum() if total == "all" else e.sum(dim=d, keepdim=True)
    if epsilon:
        w = e / (t + epsilon)                                           # every weight a little small
    elif empty == "nan" or shift != "slice":
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
