# corpus: buggy
# fails: test_deterministic test_fully_masked_rows
# source: https://github.com/joeynmt/joeynmt/blob/0d6d2b9b6ed1618fe03470c76a1fe6bccc1ccfc5/joeynmt/transformer_layers.py
# source: (joeynmt/joeynmt, joeynmt/transformer_layers.py: MultiHeadedAttention, "modified from OpenNMT-py")
# commit: 0d6d2b9b6ed1618fe03470c76a1fe6bccc1ccfc5
# licence: Apache-2.0
# adapted: re-expressed, not copied: the operations, their order and constants are the source's. k_layer, v_layer,
# adapted: q_layer and output_layer are k_proj, v_proj, q_proj and out_proj (with the bias flag); the constructor
# adapted: takes (embed_dim, num_heads) and keeps the source's dropout=0.1 default. The source's forward(k, v, q, mask)
# adapted: takes the contract's (query, key, value, mask); its mask is [B, 1, M] and gets a heads axis by unsqueeze(1),
# adapted: the contract's is already broadcastable to (B, H, Lq, Lk), so that unsqueeze is left out. forward returns
# adapted: the attention weights beside the output (the source returns the output only).
# bug: dropout (p=0.1, the default) on the attention weights, so in training mode two identical calls differ; masked
# bug: scores are filled with -inf and nn.Softmax normalises them, so a fully masked row gives NaN.
# expected-diagnosis: dropout is left on (the outputs are random), and fully masked rows give NaN
# names: dropout | random | differ; NaN
"""JoeyNMT's multi-headed attention (after OpenNMT-py), fitted to the 02 contract."""
import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True, dropout=0.1):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.head_size = head_size = embed_dim // num_heads
        self.model_size = embed_dim
        self.num_heads = num_heads
        self.k_proj = nn.Linear(embed_dim, num_heads * head_size, bias=bias)
        self.v_proj = nn.Linear(embed_dim, num_heads * head_size, bias=bias)
        self.q_proj = nn.Linear(embed_dim, num_heads * head_size, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.softmax = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query, key, value, mask=None):
        batch_size = key.size(0)
        num_heads = self.num_heads
        k = self.k_proj(key)
        v = self.v_proj(value)
        q = self.q_proj(query)
        k = k.view(batch_size, -1, num_heads, self.head_size).transpose(1, 2)
        v = v.view(batch_size, -1, num_heads, self.head_size).transpose(1, 2)
        q = q.view(batch_size, -1, num_heads, self.head_size).transpose(1, 2)
        q = q / math.sqrt(self.head_size)
        scores = torch.matmul(q, k.transpose(2, 3))
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        attention = self.softmax(scores)
        attention = self.dropout(attention)
        context = torch.matmul(attention, v)
        context = context.transpose(1, 2).contiguous().view(batch_size, -1, num_heads * self.head_size)
        return self.out_proj(context), attention
