# corpus: buggy
# fails: test_padding_mask test_fully_masked_rows
# passes: test_causal_mask test_matches_reference_float64
# source: PyTorch 2.13.0, torch/nn/functional.py: the docstring of scaled_dot_product_attention ("Efficient
# source: implementation equivalent to the following: def scaled_dot_product_attention(...)"), as installed
# source: (python -c "import torch.nn.functional as F; print(F.scaled_dot_product_attention.__doc__)")
# commit: torch==2.13.0 (the release this project pins)
# licence: BSD-3-Clause
# adapted: re-expressed, not copied: the docstring's function (with its defaults: no dropout, not causal, no GQA)
# adapted: is the attention core; the module around it (q_proj/k_proj/v_proj/out_proj, the split with
# adapted: view(B, L, H, Dh).transpose(1, 2) and the merge) is the one the exercise README spells out, since the
# adapted: docstring has none. It returns the weights it computes too.
# bug: the mask is written into an (L, S) bias with masked_fill_, in place, so a (B, 1, 1, Lk) padding mask cannot
# bug: broadcast into it (RuntimeError; only 2-D masks work); a fully masked row is all -inf and softmax gives NaN.
# expected-diagnosis: the mask only works in 2-D (a 4-D padding mask fails in the in-place masked_fill_), and fully
# expected-diagnosis: masked rows give NaN
# names: 2-d | broadcast | padding mask; NaN
"""PyTorch's documented equivalent of scaled_dot_product_attention, inside the README's module (02 contract)."""
import math

import torch


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    attn_bias = torch.zeros(L, S, dtype=query.dtype, device=query.device)
    if is_causal:
        temp_mask = torch.ones(L, S, dtype=torch.bool, device=query.device).tril(diagonal=0)
        attn_bias.masked_fill_(temp_mask.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            attn_bias.masked_fill_(attn_mask.logical_not(), float("-inf"))
        else:
            attn_bias = attn_mask + attn_bias
    attn_weight = query @ key.transpose(-2, -1) * scale_factor
    attn_weight += attn_bias
    attn_weight = torch.softmax(attn_weight, dim=-1)
    attn_weight = torch.dropout(attn_weight, dropout_p, train=True)
    return attn_weight @ value, attn_weight


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        B, Lq, E = query.shape
        Lk, H = key.shape[1], self.num_heads
        q = self.q_proj(query).view(B, Lq, H, E // H).transpose(1, 2)   # (B, H, Lq, Dh)
        k = self.k_proj(key).view(B, Lk, H, E // H).transpose(1, 2)     # (B, H, Lk, Dh)
        v = self.v_proj(value).view(B, Lk, H, E // H).transpose(1, 2)   # (B, H, Lk, Dh)
        heads, weights = scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(heads.transpose(1, 2).reshape(B, Lq, E)), weights
