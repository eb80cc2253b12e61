# corpus: bad_input
# message: got None
"""Bad input: forgets to return."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    e / e.sum(dim=dim, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    softmax(x, dim)
