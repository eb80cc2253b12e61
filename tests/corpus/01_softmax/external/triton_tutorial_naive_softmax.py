# corpus: buggy
# fails: test_softmax_matches_reference
# source: https://github.com/triton-lang/triton/blob/066e1eb8c33a3ec398a3d33119331538991c0bdf/python/tutorials/02-fused-softmax.py
# source: (triton-lang/triton, the fused-softmax tutorial: naive_softmax, its PyTorch baseline)
# commit: 066e1eb8c33a3ec398a3d33119331538991c0bdf
# licence: MIT
# adapted: re-expressed, not copied; the @torch.jit.script decorator is left out (it changes no value). The source
# adapted: is row-wise for a matrix (no dim argument). It has no masked softmax: masked_softmax is the shipped stub.
# bug: written for 2-D input, rows only: the max and the sum run over dim 1 whatever dim is, and other ranks fail.
# expected-diagnosis: the softmax runs over a fixed dimension (1) and only works for 2-D input
# names: not along dim | dimension 1 whatever dim is
"""Triton's fused-softmax tutorial baseline (a row-wise PyTorch softmax), fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    x_max = x.max(dim=1)[0]
    z = x - x_max[:, None]
    numerator = torch.exp(z)
    denominator = numerator.sum(dim=1)
    return numerator / denominator[:, None]


def masked_softmax(x, mask, dim=-1):
    raise NotImplementedError("01_softmax: implement masked_softmax")
