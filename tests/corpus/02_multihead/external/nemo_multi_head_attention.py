# corpus: buggy
# fails: test_half_precision
# passes: test_fully_masked_rows test_matches_reference_float64
# diagnosis: does not fit in bfloat16
# source: https://github.com/NVIDIA/NeMo/blob/0111fe9bdda1af334d3c9371f6dfaf1b6fe9e8d4/nemo/collections/asr/parts/submodules/multi_head_attention.py
# source: (NVIDIA/NeMo, ASR submodules: MultiHeadAttention, "adopted from espnet")
# commit: 0111fe9bdda1af334d3c9371f6dfaf1b6fe9e8d4
# licence: Apache-2.0
# adapted: re-expressed, not copied. linear_q/k/v/out are q_proj, k_proj, v_proj, out_proj (with the bias flag); the
# adapted: source's dropout_rate has no default and the contract has none, so it is 0. The source's mask is True
# adapted: at padding and shaped (B, Lq, Lk), unsqueezed for the heads: the contract's mask is already broadcastable
# adapted: to (B, H, Lq, Lk) and True where attention is allowed, so it is passed as ~mask without the unsqueeze.
# adapted: forward returns (output, self.attn).
# bug: the fill value is np.finfo(float16).min for float16 scores and np.finfo(float32).min otherwise, so bfloat16
# bug: scores get float32's minimum, which does not fit in bfloat16 (masked_fill raises); fully masked rows are right
# bug: (zeroed after the softmax).
# expected-diagnosis: the float32 minimum used as the fill does not fit in bfloat16
# names: bfloat16 | does not fit
"""NeMo's (ESPnet-derived) multi-head attention, fitted to the 02 contract."""
import math

import numpy as np
import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_k = embed_dim // num_heads
        self.h = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.attn = None
        self.dropout = nn.Dropout(p=0.0)

    def forward_qkv(self, query, key, value):
        n_batch = query.size(0)
        q = self.q_proj(query).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        k = self.k_proj(key).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        v = self.v_proj(value).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        return q, k, v

    def forward_attention(self, value, scores, mask):
        n_batch = value.size(0)
        if mask is not None:
            dtype = np.float16 if scores.dtype == torch.float16 else np.float32
            min_value = np.finfo(dtype).min
            scores = scores.masked_fill(mask, min_value)
            self.attn = torch.softmax(scores, dim=-1).masked_fill(mask, 0.0)
        else:
            self.attn = torch.softmax(scores, dim=-1)
        p_attn = self.dropout(self.attn)
        x = torch.matmul(p_attn, value)
        x = x.transpose(1, 2).contiguous().view(n_batch, -1, self.h * self.d_k)
        return self.out_proj(x)

    def forward(self, query, key, value, mask=None):
        q, k, v = self.forward_qkv(query, key, value)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
        out = self.forward_attention(v, scores, None if mask is None else ~mask)
        return out, self.attn
