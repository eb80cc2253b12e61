# corpus: device
# needs: cuda
# fails: test_masked_softmax_matches_reference
# passes: test_softmax_matches_reference
# diagnosis: the where_self operation got one
"""Device: masked_softmax fills masked entries from a tensor made with torch.full(x.shape, -inf),
without device=: on the CPU while x is on the GPU. Full marks on the CPU."""
import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    fill = torch.full(x.shape, float("-inf"), dtype=x.dtype)
    return softmax(torch.where(torch.broadcast_to(mask, x.shape), x, fill), dim)
