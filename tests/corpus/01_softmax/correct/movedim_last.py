# corpus: correct
"""Correct: moves dim to the end, works on the last axis, moves it back."""
import torch


def _last(x, keep):
    m = torch.where(keep, x, torch.full_like(x, float("-inf"))).max(dim=-1, keepdim=True).values.detach()
    m = m.clamp_min(torch.finfo(x.dtype).min)                     # -inf (empty row) -> a finite number
    e = torch.where(keep, torch.exp(torch.where(keep, x - m, torch.zeros_like(x))), torch.zeros_like(x))
    total = e.sum(dim=-1, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def masked_softmax(x, mask, dim=-1):
    keep = torch.broadcast_to(mask, x.shape) & ~torch.isneginf(x)
    out = _last(x.movedim(dim, -1), keep.movedim(dim, -1))
    return out.movedim(-1, dim)


def softmax(x, dim=-1):
    return masked_softmax(x, torch.tensor(True, device=x.device), dim)
