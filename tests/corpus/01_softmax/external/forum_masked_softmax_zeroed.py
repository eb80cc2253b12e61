# corpus: buggy
# fails: test_masked_softmax_dtypes
# source: https://github.com/sh0416/brook/blob/f796eb006eb35b26d0a53f933f4334698db64bd9/brook/utils.py
# source: (sh0416/brook, brook/utils.py: masked_softmax; the function is the widely copied answer in the PyTorch
# source: forum thread https://discuss.pytorch.org/t/apply-mask-softmax/14212)
# commit: f796eb006eb35b26d0a53f933f4334698db64bd9
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source's dim defaults to 1; the contract's call passes dim. softmax (the
# adapted: source has none) is the source's masked_softmax with a 0-d True mask (the README's hint 1).
# bug: masked scores are multiplied by 0 and stay in the max, so when the real scores lie far below 0 every weight
# bug: underflows and the slice comes out all zeros; a masked -inf score gives -inf * 0 = NaN; mask.float() is
# bug: float32, so float16/bfloat16 scores come back float32.
# expected-diagnosis: masked entries are set to 0 and kept in the maximum (so real scores far below 0 underflow to
# expected-diagnosis: all zeros), and the float32 mask turns half-precision input into float32
# names: set to 0 | x * mask; float32 | dtype
"""The PyTorch forum's masked softmax, as kept in a utility module, fitted to the 01 contract."""
import torch


def masked_softmax(x, mask, dim=-1):
    masked_vec = x * mask.float()
    max_vec = torch.max(masked_vec, dim=dim, keepdim=True)[0]
    exps = torch.exp(masked_vec - max_vec)
    masked_exps = exps * mask.float()
    masked_sums = masked_exps.sum(dim, keepdim=True)
    zeros = (masked_sums == 0)
    masked_sums += zeros.float()
    return masked_exps / masked_sums


def softmax(x, dim=-1):
    return masked_softmax(x, torch.tensor(True), dim)
