# corpus: buggy
# fails: test_softmax_large_values test_softmax_matches_reference
# diagnosis: Without subtracting the max
# source: https://github.com/TomJourney/build_a_llm_from_scratch/blob/3ecce2d92cd0d2d9e1e1b8ea1cb2a009e26d5991/src/utils/MathUtis.py
# source: (TomJourney/build_a_llm_from_scratch, src/utils/MathUtis.py: diy_softmax_naive, written after the book
# source: "Build a Large Language Model (From Scratch)")
# commit: 3ecce2d92cd0d2d9e1e1b8ea1cb2a009e26d5991
# licence: unknown
# adapted: re-expressed, not copied. diy_softmax_naive becomes softmax (the source has no dim argument). The source
# adapted: has no masked softmax: masked_softmax is the shipped stub.
# bug: sums over dim 0 whatever dim is, and does not subtract the max.
# expected-diagnosis: the softmax runs over a fixed dimension (0), not along dim, and the max is not subtracted
# names: not along dim | dimension 0 whatever dim is; subtracting the max
"""A naive softmax from a build-an-LLM-from-scratch study repository, fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    return torch.exp(x) / torch.exp(x).sum(dim=0)


def masked_softmax(x, mask, dim=-1):
    raise NotImplementedError("01_softmax: implement masked_softmax")
