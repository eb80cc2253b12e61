# corpus: buggy
# fails: test_fully_masked_rows
# diagnosis: gives NaN
"""Buggy: plain softmax: NaN on empty rows."""
import torch


class AdditiveAttention(torch.nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        scores = self.score(torch.tanh(self.query_proj(query)[:, None, :] + self.key_proj(keys))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        top = scores.amax(dim=-1, keepdim=True)
        e = torch.exp(scores - top)
        total = e.sum(dim=-1, keepdim=True)
        weights = e / total
        context = torch.einsum("bl,bld->bd", weights, values)
        return context, weights
