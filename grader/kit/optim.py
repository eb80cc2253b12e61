"""Optimisers for checks that train the student's model in the grader (part of the check kit)."""

from __future__ import annotations

import torch


class Adam:
    """Adam (Kingma and Ba, 2015) with torch.optim.Adam's defaults, written out: constructing
    torch.optim.Adam imports torch._dynamo, about a second of every grade that trains."""

    def __init__(self, weights: dict[str, torch.Tensor], *, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.weights, self.lr, self.betas, self.eps, self.steps = weights, lr, betas, eps, 0
        self.first = {n: torch.zeros_like(w) for n, w in weights.items()}
        self.second = {n: torch.zeros_like(w) for n, w in weights.items()}

    @torch.no_grad()
    def step(self, grads: dict[str, torch.Tensor]) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        for name, weight in self.weights.items():
            m = self.first[name].mul_(beta1).add_(grads[name], alpha=1 - beta1)
            v = self.second[name].mul_(beta2).addcmul_(grads[name], grads[name], value=1 - beta2)
            denominator = (v.sqrt() / (1 - beta2 ** self.steps) ** 0.5).add_(self.eps)
            weight.addcdiv_(m, denominator, value=-self.lr / (1 - beta1 ** self.steps))
