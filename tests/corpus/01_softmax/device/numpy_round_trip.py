# corpus: device
# needs: cuda
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# diagnosis: goes through NumPy
"""Device: the exponential goes through NumPy (x.numpy()): on the GPU it cannot convert at all
(on the CPU the values are right and only the gradient checks fail)."""
import numpy as np
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.from_numpy(np.exp((x - m).detach().numpy()))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
