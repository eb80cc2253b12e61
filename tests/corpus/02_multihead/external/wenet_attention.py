# corpus: correct
# source: https://github.com/wenet-e2e/wenet/blob/03030968258594d3522e562212b0ac87dbf9c889/wenet/transformer/attention.py
# source: (wenet-e2e/wenet, wenet/transformer/attention.py: MultiHeadedAttention, "Copyright 2019 Shigeki Karita")
# commit: 03030968258594d3522e562212b0ac87dbf9c889
# licence: Apache-2.0
# adapted: re-expressed, not copied. linear_q/k/v/out are q_proj, k_proj, v_proj, out_proj (with the bias flag); the
# adapted: source's dropout_rate has no default and the contract has none, so it is 0. The source takes a
# adapted: (B, 1 or Lq, Lk) mask and unsqueezes a head axis before mask.eq(0); the contract's mask is already
# adapted: broadcastable to (B, H, Lq, Lk), so that unsqueeze is left out. forward returns the output and the
# adapted: weights forward_attention computes.
# bug: none. A fully masked row's softmax is NaN, but masked_fill(mask, 0.0) after the softmax gives it zero
# bug: weights, and the first masked_fill(mask, -inf) sends zero gradient to every masked score, so the gradients
# bug: stay finite (checked by hand: no NaN in any gradient with a fully masked batch item).
"""WeNet's multi-headed attention (after ESPnet), fitted to the 02 contract."""
import math

import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_k = embed_dim // num_heads
        self.h = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.dropout = torch.nn.Dropout(p=0.0)

    def forward_qkv(self, query, key, value):
        n_batch = query.size(0)
        q = self.q_proj(query).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        k = self.k_proj(key).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        v = self.v_proj(value).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        return q, k, v

    def forward_attention(self, value, scores, mask):
        n_batch = value.size(0)
        if mask is not None:
            mask = mask.eq(0)
            scores = scores.masked_fill(mask, -float("inf"))
            attn = torch.softmax(scores, dim=-1).masked_fill(mask, 0.0)
        else:
            attn = torch.softmax(scores, dim=-1)
        p_attn = self.dropout(attn)
        x = torch.matmul(p_attn, value)
        x = x.transpose(1, 2).contiguous().view(n_batch, -1, self.h * self.d_k)
        return self.out_proj(x), attn

    def forward(self, query, key, value, mask=None):
        q, k, v = self.forward_qkv(query, key, value)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
        return self.forward_attention(v, scores, mask)
