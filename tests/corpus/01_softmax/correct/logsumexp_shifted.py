# corpus: correct
"""Correct: shift by the max, then exp(z - logsumexp(z)); empty slices by a safe logsumexp."""
import torch


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    real = keep.any(dim=dim, keepdim=True)                       # slices with something to attend to
    m = x.masked_fill(~keep, float("-inf")).amax(dim=dim, keepdim=True).detach()
    m = torch.where(real, m, torch.zeros_like(m))
    z = (x - m).masked_fill(~keep, float("-inf"))                # <= 0, -inf where left out
    lse = torch.logsumexp(torch.where(real, z, torch.zeros_like(z)), dim=dim, keepdim=True)
    return torch.exp(z - lse)


def softmax(x, dim=-1):
    return masked_softmax(x, torch.tensor(True), dim)
