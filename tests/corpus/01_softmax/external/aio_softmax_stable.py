# corpus: buggy
# fails: test_softmax_matches_reference
# source: https://github.com/thailevann/AIO-2024/blob/553f7e914722000bf1cd5cf9d819e6f61d52de9a/M01EX03/softmax_func.py
# source: (thailevann/AIO-2024, M01EX03/softmax_func.py: SoftmaxStable; the same course exercise is in many
# source: student repositories, e.g. stephanelx88/AIO314-Exercise, PiscesTran2005/homework1)
# commit: 553f7e914722000bf1cd5cf9d819e6f61d52de9a
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. SoftmaxStable.forward becomes softmax (the dim argument is accepted; the source
# adapted: has none and always uses dim 0). The source has no masked softmax: masked_softmax is the shipped stub.
# bug: the max and the sum are taken over dim 0 whatever dim is asked for.
# expected-diagnosis: the softmax runs over a fixed dimension (0), not along dim
# names: not along dim | dimension 0 whatever dim is
"""A course exercise's stable softmax (PyTorch), fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    x_max = torch.max(x, dim=0, keepdims=True)
    x_exp = torch.exp(x - x_max.values)
    partition = x_exp.sum(0, keepdims=True)
    return x_exp / partition


def masked_softmax(x, mask, dim=-1):
    raise NotImplementedError("01_softmax: implement masked_softmax")
