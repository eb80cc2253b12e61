# corpus: bad_input
# message: time limit
"""Bad input: right on slices of up to 3 entries, hangs on longer ones. The check that meets a hang
skips its later examples and shows the one that hung, not a smaller one that never ran."""
import torch


def softmax(x, dim=-1):
    while x.shape[dim] > 3:
        pass
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
