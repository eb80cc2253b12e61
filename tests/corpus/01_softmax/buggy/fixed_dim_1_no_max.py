# corpus: buggy
# fails: test_softmax_matches_reference test_softmax_large_values
# diagnosis: has no dimension 1 | And where your code does answer: Without subtracting the max first
"""Buggy, twice, in softmax: it sums along dimension 1 whatever dim is (1-d input raises IndexError), and it does
not subtract the max (exp overflows for large inputs). Every shrunk example is 1-d, where only the error shows;
the richer (3, 4, 5) inputs asked about after the error show the missing max, and both are named."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(1, keepdim=True)


def masked_softmax(x, mask, dim=-1):
    x = x.masked_fill(~mask, float("-inf"))
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))
