# corpus: buggy
# fails: test_softmax_matches_reference test_fully_masked_slices
# diagnosis: along the last dimension
# source: https://github.com/lllldj/cs336/blob/b4ab5d3354c48feefe4c275c060f2a2f68aef91c/cs336_basics/myFunctional.py
# source: (lllldj/cs336, a Stanford CS336 assignment 1 attempt: toy_softmax and the masking in toy_product_atte)
# commit: b4ab5d3354c48feefe4c275c060f2a2f68aef91c
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. softmax is toy_softmax (it has no dim argument and always uses the last
# adapted: dimension); masked_softmax is the masking step of toy_product_atte (masked_fill(mask == False, -inf))
# adapted: followed by the same toy_softmax.
# bug: the max and the sum always run over the last dimension whatever dim is; a fully masked slice is all -inf, so
# bug: -inf - (-inf) gives NaN.
# expected-diagnosis: the softmax ignores dim (always the last dimension), and fully masked slices give NaN
# names: not along dim | along the last dimension; gives NaN
"""A CS336 student's toy softmax and masking, fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    sx = x - x.max(-1, keepdim=True).values
    ex = sx.exp()
    return ex / ex.sum(-1, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(mask == False, float("-inf")), dim)  # noqa: E712 (as in the source)
