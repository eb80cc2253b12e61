# corpus: correct
"""Correct: float64 inside (a global max is safe here: tanh bounds the scores), mask by multiplication."""
import torch


class AdditiveAttention(torch.nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        scores = self.score(torch.tanh(self.query_proj(query)[:, None, :] + self.key_proj(keys))).squeeze(-1)
        keep = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        e = torch.exp(scores.double() - scores.double().max()) * keep
        weights = (e / e.sum(dim=-1, keepdim=True).clamp_min(1e-300)).to(scores.dtype)
        context = (weights.unsqueeze(-1) * values).sum(dim=1)
        return context, weights
