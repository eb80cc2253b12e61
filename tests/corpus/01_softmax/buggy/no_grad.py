# corpus: buggy
# fails: test_softmax_gradients test_masked_softmax_gradients
# passes: test_softmax_matches_reference test_masked_softmax_matches_reference
"""Buggy: computes under torch.no_grad(), so no gradient flows. Mutation: only the gradient checks catch it."""
import torch


def _masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & (x != float("-inf"))
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype)
    m = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(torch.where(keep, x - m, neg_inf))
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    with torch.no_grad():
        return _masked_softmax(x, mask, dim)


def softmax(x, dim=-1):
    with torch.no_grad():
        return _masked_softmax(x, torch.tensor(True), dim)
