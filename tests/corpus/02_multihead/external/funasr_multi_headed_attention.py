# corpus: buggy
# fails: test_half_precision
# passes: test_matches_reference_float64 test_fully_masked_rows test_padding_mask test_gradients
# source: https://github.com/modelscope/FunASR/blob/151c339ffeced822917e85255431fcfb74f24db9/funasr/models/transformer/attention.py
# source: (modelscope/FunASR, MultiHeadedAttention, "Copyright 2019 Shigeki Karita"; the same forward_attention is in
# source: espnet/espnet's espnet2/asr/state_spaces/attention.py at 452c7e0ddd63c40470f6aa3e3bba833469bc13f9)
# commit: 151c339ffeced822917e85255431fcfb74f24db9
# licence: Apache-2.0 (the file's header)
# adapted: re-expressed, not copied. linear_q/k/v/out are q_proj, k_proj, v_proj, out_proj (with the bias flag); the
# adapted: source's dropout_rate has no default and the contract has none, so it is 0. The source's (B, 1 or Lq, Lk)
# adapted: mask is unsqueezed for the heads before mask.eq(0); the contract's is already broadcastable to
# adapted: (B, H, Lq, Lk), so that unsqueeze is left out. forward returns (output, self.attn).
# bug: the fill value is numpy.finfo of torch.tensor(0, dtype=scores.dtype).numpy(): NumPy has no bfloat16, so
# bug: bfloat16 scores raise TypeError; every other dtype is right, fully masked rows included (zeroed after the
# bug: softmax).
# expected-diagnosis: bfloat16 input fails (the fill value goes through NumPy, which has no bfloat16)
# names: bfloat16
"""FunASR's (ESPnet's) multi-headed attention, fitted to the 02 contract."""
import math

import numpy
import torch
from torch import nn


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
            mask = mask.eq(0)
            min_value = float(numpy.finfo(torch.tensor(0, dtype=scores.dtype).numpy().dtype).min)
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
        return self.forward_attention(v, scores, mask), self.attn
