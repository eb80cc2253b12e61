# corpus: buggy
# fails: test_masked_softmax_matches_reference test_softmax_matches_reference
# source: https://github.com/MatthewSo/rl-aux/blob/51f84adc77866cbb9159f3c0b4fafcd0b06b90db/utils/masked_softmax.py
# source: (MatthewSo/rl-aux, utils/masked_softmax.py: mask_softmax)
# commit: 51f84adc77866cbb9159f3c0b4fafcd0b06b90db
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source's NaN logging (print only) is left out; its dim defaults to 1, the
# adapted: contract's call passes dim. softmax (the source has none) is the same function with a 0-d True mask.
# bug: the max is taken over all entries, masked ones included, so a large masked score makes the real weights
# bug: underflow to 0; the epsilon 1e-8 added to the sum shifts every weight (wrong in float64), and a fully
# bug: masked slice divides by epsilon only (zeros); a slice that is all -inf gives NaN (-inf - (-inf)).
# expected-diagnosis: the max includes masked entries (a large masked score wipes out the real weights), and the
# expected-diagnosis: epsilon added to the sum makes every weight slightly wrong; an all -inf slice gives NaN
# names: masked entries are large; epsilon; gives NaN
"""A masked softmax from a reinforcement-learning project, fitted to the 01 contract."""
import torch


def masked_softmax(x, mask, dim=-1, epsilon=1e-8):
    logits_max = torch.max(x, dim=dim, keepdim=True)[0]
    exp_logits = torch.exp(x - logits_max)
    masked_exp_logits = exp_logits * mask
    masked_sum = torch.sum(masked_exp_logits, dim=dim, keepdim=True) + epsilon
    return masked_exp_logits / masked_sum


def softmax(x, dim=-1):
    return masked_softmax(x, torch.tensor(True), dim)
