# corpus: buggy
# fails: test_softmax_large_values test_softmax_matches_reference
# diagnosis: along the last dimension
# source: https://github.com/RashikShahjahan/micrograd-extented/blob/5db434d0fe183e9a545f302604084ae7cd06a757/micrograd/layers/softmax.py
# source: (RashikShahjahan/micrograd-extented, micrograd/layers/softmax.py: Softmax.forward)
# commit: 5db434d0fe183e9a545f302604084ae7cd06a757
# licence: unknown
# adapted: re-expressed, not copied. Softmax.forward becomes softmax (the source has no dim and always normalises
# adapted: the last dimension). The source has no masked softmax: masked_softmax is the shipped stub.
# bug: exp without subtracting the max (overflows to inf / inf = NaN for large inputs); always the last dimension.
# expected-diagnosis: the max is not subtracted before exp, and the softmax ignores dim (always the last dimension)
# names: subtracting the max; not along dim
"""An extended micrograd's softmax layer (PyTorch), fitted to the 01 contract."""
import torch


def softmax(x, dim=-1):
    return x.exp() / x.exp().sum(-1).unsqueeze(-1)


def masked_softmax(x, mask, dim=-1):
    raise NotImplementedError("01_softmax: implement masked_softmax")
