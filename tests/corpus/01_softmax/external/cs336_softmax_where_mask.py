# corpus: buggy
# fails: test_fully_masked_slices test_masked_softmax_dtypes
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: gives NaN
# source: https://github.com/mhaowork/assignment1-basics/blob/65d6cb327b45fa42d4391682c16bd16e3722fa82/cs336_basics/softmax.py
# source: and .../blob/58082aed41770705b4e0c42d2a8f5f8097396aab/cs336_basics/scaled_dot_product_attention.py
# source: (mhaowork/assignment1-basics, a Stanford CS336 assignment 1 solution: Softmax.forward and the masking in SDPA)
# commit: 65d6cb327b45fa42d4391682c16bd16e3722fa82 (softmax.py), 58082aed41770705b4e0c42d2a8f5f8097396aab (SDPA)
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. softmax is the source's Softmax.forward (its dim_idx is dim). masked_softmax
# adapted: is the source's masking step from its SDPA (scores + torch.where(mask, 0, -torch.inf)) followed by the
# adapted: same Softmax, over dim instead of the source's fixed -1.
# bug: a fully masked slice is all -inf, its max is -inf and -inf - (-inf) is NaN; torch.where(mask, 0, -inf) is a
# bug: float32 tensor, so float16/bfloat16 scores come back float32.
# expected-diagnosis: a fully masked slice gives NaN (its max is -inf), and half-precision input is promoted to
# expected-diagnosis: float32 by the float32 mask tensor
# names: gives NaN; float32 | dtype
"""A CS336 student's softmax and attention masking, fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    max_val = x.max(dim=dim, keepdim=True)[0]
    exp_val = torch.exp(x - max_val)
    sum_exp = exp_val.sum(dim=dim, keepdim=True)
    return exp_val / sum_exp


def masked_softmax(x, mask, dim=-1):
    return softmax(x + torch.where(mask, 0, -torch.inf), dim)
