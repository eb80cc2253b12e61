# corpus: bad_input
# message: does not define
"""Bad input: masked_softmax is misspelt."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


def masked_softmx(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
