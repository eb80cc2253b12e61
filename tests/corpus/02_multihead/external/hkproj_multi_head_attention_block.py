# corpus: buggy
# fails: test_deterministic test_fully_masked_rows
# source: https://github.com/hkproj/pytorch-transformer/blob/c9ddb87476733c1a139c86e1ffbc16e2a22ce20f/model.py
# source: (hkproj/pytorch-transformer, model.py: MultiHeadAttentionBlock, a much-followed video tutorial's code)
# commit: c9ddb87476733c1a139c86e1ffbc16e2a22ce20f
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied: the operations, their order and constants are the source's. w_q, w_k, w_v, w_o
# adapted: are q_proj, k_proj, v_proj, out_proj, made with the contract's bias flag (the source's are always
# adapted: bias=False); the constructor takes (embed_dim, num_heads) and the dropout build_transformer passes (0.1).
# adapted: forward returns the attention weights beside the output (the source keeps them in self.attention_scores).
# bug: dropout (0.1) on the attention weights, so two identical calls differ; masked scores are filled with -1e9
# bug: (in place, on the scores), so a fully masked row gets uniform weights, and -1e9 does not fit in float16.
# expected-diagnosis: dropout is left on (outputs are random); -1e9 gives fully masked rows uniform weights and
# expected-diagnosis: overflows float16
# names: dropout | random | differ; uniform; float16 | overflow | half
"""A video tutorial's Transformer attention block, fitted to the 02 contract."""
import math

import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True, dropout=0.1):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_model = embed_dim
        self.h = num_heads
        self.d_k = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def attention(query, key, value, mask, dropout):
        d_k = query.shape[-1]
        attention_scores = (query @ key.transpose(-2, -1)) / math.sqrt(d_k)
        if mask is not None:
            attention_scores.masked_fill_(mask == 0, -1e9)
        attention_scores = attention_scores.softmax(dim=-1)
        if dropout is not None:
            attention_scores = dropout(attention_scores)
        return (attention_scores @ value), attention_scores

    def forward(self, query, key, value, mask=None):
        q = self.q_proj(query)
        k = self.k_proj(key)
        v = self.v_proj(value)
        q = q.view(q.shape[0], q.shape[1], self.h, self.d_k).transpose(1, 2)
        k = k.view(k.shape[0], k.shape[1], self.h, self.d_k).transpose(1, 2)
        v = v.view(v.shape[0], v.shape[1], self.h, self.d_k).transpose(1, 2)
        x, self.attention_scores = MultiHeadAttention.attention(q, k, v, mask, self.dropout)
        x = x.transpose(1, 2).contiguous().view(x.shape[0], -1, self.h * self.d_k)
        return self.out_proj(x), self.attention_scores
