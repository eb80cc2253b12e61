# corpus: buggy
# fails: test_matches_reference_float64 test_half_precision
# source: https://github.com/karpathy/minGPT/blob/bbbdac74fa9b2e55574d70056163ffbae42310c1/mingpt/model.py
# source: (karpathy/minGPT, mingpt/model.py: CausalSelfAttention and GPTConfig's dropout defaults)
# commit: bbbdac74fa9b2e55574d70056163ffbae42310c1
# licence: MIT (the repository's licence; its LICENSE file is not in the index)
# adapted: re-expressed, not copied. query/key/value/proj are q_proj, k_proj, v_proj, out_proj (with the bias flag);
# adapted: the source is self-attention over one x with a causal mask buffer: here its projections apply to query,
# adapted: key and value, and the contract's mask takes the buffer's place (mask == 0 is masked out, as in the source;
# adapted: with no mask nothing is masked). GPTConfig's attn_pdrop = resid_pdrop = 0.1 defaults are kept.
# adapted: forward returns (y, att).
# bug: dropout (0.1) on the attention weights and on the output, so two identical calls differ; masked scores are
# bug: filled with -1e10 (the source's own "todo: just use float('-inf') instead?"), which gives fully masked rows
# bug: uniform weights and does not fit in float16.
# expected-diagnosis: dropout is left on (outputs are random); -1e10 gives fully masked rows uniform weights and
# expected-diagnosis: overflows float16
# names: dropout | random | differ; uniform; float16 | overflow | half
"""minGPT's causal self-attention (an early version), fitted to the 02 contract."""
import math

import torch
from torch.nn import functional as F


class MultiHeadAttention(torch.nn.Module):
    attn_pdrop = 0.1
    resid_pdrop = 0.1

    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.attn_drop = torch.nn.Dropout(self.attn_pdrop)
        self.resid_drop = torch.nn.Dropout(self.resid_pdrop)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.n_head = num_heads

    def forward(self, query, key, value, mask=None):
        B, T, C = query.size()
        S = key.size(1)
        k = self.k_proj(key).view(B, S, self.n_head, C // self.n_head).transpose(1, 2)
        q = self.q_proj(query).view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = self.v_proj(value).view(B, S, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        if mask is not None:
            att = att.masked_fill(mask == 0, -1e10)
        att = F.softmax(att, dim=-1)
        att = self.attn_drop(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_drop(self.out_proj(y))
        return y, att
