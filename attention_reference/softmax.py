"""Reference for 01_softmax: a numerically stable softmax and masked softmax in PyTorch.

No softmax built-in is called. Both functions share one kernel, ``masked_softmax``:

    keep     = mask & (x != -inf)                 entries that take part
    m        = max of x over the kept entries     (0 for a slice with none; not differentiated)
    e        = exp(x - m) where keep, else 0      every exponent <= 0: no overflow
    softmax  = e / sum(e)                         the sum is >= 1, or exactly 0 for an empty slice

An empty slice (fully masked, or all -inf) gives all zeros. Kept-out entries are
replaced by -inf *before* ``exp`` rather than with ``torch.where`` afterwards, so
the backward pass never multiplies a zero gradient by an infinity (which would
give NaN gradients even in the branch that ``torch.where`` discards).
"""

from __future__ import annotations

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Stable softmax along ``dim``.

        softmax(x)_i = exp(x_i - max(x)) / sum_j exp(x_j - max(x))

    Shapes:
        x       (...), any rank >= 1
        return  same shape and dtype as x

    ``-inf`` entries get weight exactly 0; a slice that is all ``-inf`` gives zeros.
    """
    keep = torch.ones((), dtype=torch.bool, device=x.device)           # every entry takes part
    return masked_softmax(x, keep, dim=dim)


def masked_softmax(x: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim`` over the entries where ``mask`` is True.

        softmax(x)_i = exp(x_i - m) / sum_{j: mask_j} exp(x_j - m)   where mask_i, else 0

    Shapes:
        x       (...), any rank >= 1, floating dtype
        mask    bool, broadcastable to x.shape; True = takes part (may attend)
        return  same shape and dtype as x

    A slice that is fully masked (or all ``-inf``) is all zeros, with finite gradients.
    """
    if not torch.is_floating_point(x):
        raise TypeError(f"x must be a floating tensor, got dtype={x.dtype}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a boolean tensor (True = may attend), got dtype={mask.dtype}")
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension, got a 0-d tensor")
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))   # (...) like x

    # 1) the largest kept entry of each slice; empty slices shift by 0
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
    row_max = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()  # (..., 1, ...)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    # 2) exponentiate; kept-out entries are -inf before exp, so exp gives exactly 0
    shifted = torch.where(keep, x - row_max, neg_inf)                   # (...) all <= 0 or -inf
    e = torch.exp(shifted)                                              # (...) in [0, 1]
    # 3) normalise; an empty slice has total 0 and stays all zeros
    total = e.sum(dim=dim, keepdim=True)                                # (..., 1, ...) >= 1 or == 0
    return e / torch.where(total > 0, total, torch.ones_like(total))
