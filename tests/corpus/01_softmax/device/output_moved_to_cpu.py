# corpus: device
# needs: cuda
# fails: test_softmax_matches_reference test_masked_softmax_matches_reference
# message: is on device cpu, expected cuda:0
"""Device: right values, returned on the CPU (a .cpu() left in from debugging). Full marks on the CPU."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return (e / torch.where(total > 0, total, torch.ones_like(total))).cpu()


def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim)
