"""01_softmax: a numerically stable softmax and masked softmax in PyTorch. Fill in both functions.

Grade with:  grade exercises/01_softmax
No built-in softmax (torch.softmax, F.softmax, x.softmax, log_softmax, ...) is allowed.
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
    raise NotImplementedError("01_softmax: implement softmax")


def masked_softmax(x: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim`` over the entries where ``mask`` is True.

        softmax(x)_i = exp(x_i - m) / sum_{j: mask_j} exp(x_j - m)   where mask_i, else 0

    Shapes:
        x       (...), any rank >= 1, floating dtype
        mask    bool, broadcastable to x.shape; True = takes part (may attend)
        return  same shape and dtype as x

    A slice that is fully masked (or all ``-inf``) is all zeros, with finite gradients.
    """
    raise NotImplementedError("01_softmax: implement masked_softmax")
