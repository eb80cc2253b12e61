# corpus: buggy
# fails: test_half_precision test_inputs_unmodified
# passes: test_fully_masked_rows test_matches_reference_float64
# diagnosis: does not fit in
# source: https://github.com/espnet/espnet/blob/0213427187b25b80800949b7d0ae8f6184f0fe2c/espnet/nets/pytorch_backend/transformer/attention.py
# source: (espnet/espnet, an early version of espnet/nets/pytorch_backend/transformer/attention.py: MultiHeadedAttention)
# commit: 0213427187b25b80800949b7d0ae8f6184f0fe2c
# licence: Apache-2.0
# adapted: re-expressed, not copied. linear_q/k/v/out are q_proj, k_proj, v_proj, out_proj (with the bias flag); the
# adapted: source's dropout_rate has no default and the contract has none, so it is 0. The source takes a
# adapted: (B, Lq, Lk) mask and turns it in place into a masked-out mask with mask.unsqueeze_(1).eq_(0); the
# adapted: contract's mask is already broadcastable to (B, H, Lq, Lk), so only the in-place eq_(0) is kept.
# adapted: forward returns (output, self.attn).
# bug: the caller's mask is overwritten in place (mask.eq_(0)); masked scores are filled with float32's minimum,
# bug: which overflows float16 (masked_fill raises); fully masked rows are right (the weights are zeroed after the
# bug: softmax).
# expected-diagnosis: the mask argument is modified in place, and the float32 minimum fill overflows in float16
# names: in place | modified; float16 | overflow | half
"""An early ESPnet multi-headed attention, fitted to the 02 contract."""
import math

import numpy
import torch

MIN_VALUE = float(numpy.finfo(numpy.float32).min)


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
        self.attn = None
        self.dropout = torch.nn.Dropout(p=0.0)

    def forward(self, query, key, value, mask=None):
        n_batch = query.size(0)
        q = self.q_proj(query).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        k = self.k_proj(key).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        v = self.v_proj(value).view(n_batch, -1, self.h, self.d_k).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
        if mask is not None:
            mask.eq_(0)
            scores = scores.masked_fill(mask, MIN_VALUE)
            self.attn = torch.softmax(scores, dim=-1).masked_fill(mask, 0.0)
        else:
            self.attn = torch.softmax(scores, dim=-1)
        p_attn = self.dropout(self.attn)
        x = torch.matmul(p_attn, v)
        x = x.transpose(1, 2).contiguous().view(n_batch, -1, self.h * self.d_k)
        return self.out_proj(x), self.attn
