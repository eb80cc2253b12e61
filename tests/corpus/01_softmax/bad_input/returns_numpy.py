# corpus: bad_input
# message: should be a torch.Tensor
"""Bad input: returns a NumPy array."""
import numpy as np
import torch


def softmax(x, dim=-1):
    e = np.exp(x.detach().numpy() - x.detach().numpy().max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, -1e30), dim)
