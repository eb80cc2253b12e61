# corpus: buggy
# fails: test_padding_mask test_fully_masked_rows
# diagnosis: not boolean
# passes: test_matches_reference_float64
"""Buggy: masks with mask & 0, an integer tensor (a uint8-era idiom): masked_fill raises."""
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
            scores = scores.masked_fill(mask & 0, float("-inf"))
        top = scores.amax(dim=-1, keepdim=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        e = torch.exp(scores - top)
        total = e.sum(dim=-1, keepdim=True)
        weights = e / torch.where(total > 0, total, torch.ones_like(total))
        context = torch.einsum("bl,bld->bd", weights, values)
        return context, weights
