# corpus: buggy
# fails: test_padding_mask test_fully_masked_rows
# diagnosis: out_proj | give NaN
# source: https://github.com/sooftware/attentions/blob/84347237608e022de8b881abdb7e8bdcfc006d8b/attentions.py
# source: (sooftware/attentions, attentions.py: ScaledDotProductAttention and MultiHeadAttention)
# commit: 84347237608e022de8b881abdb7e8bdcfc006d8b
# licence: MIT
# adapted: re-expressed, not copied. query_proj/key_proj/value_proj are q_proj, k_proj, v_proj (with the bias flag);
# adapted: the source has no output projection, so out_proj exists and is unused. The source's mask marks what to
# adapted: mask out and has shape (B, Lq, Lk): the contract's mask is broadcast to (B, 1, Lq, Lk), its head axis
# adapted: dropped and inverted (~mask) before the source's code. The source returns the weights as (H*B, Lq, Lk),
# adapted: head-major; they are returned as (B, H, Lq, Lk) (view(H, B, Lq, Lk).transpose(0, 1)).
# bug: the scores are head-major (H*B) but the mask is repeated batch-major (B*H) and reshaped onto them, so with a
# bug: padding mask and B > 1 the wrong batch items are masked; the output projection is missing; a fully masked row
# bug: (-inf everywhere) gives NaN.
# expected-diagnosis: the padding mask is applied to the wrong batch items (head-major scores, batch-major mask), the
# expected-diagnosis: output projection is missing, fully masked rows give NaN
# names: batch item | wrong batch; out_proj; NaN
"""A collection's multi-head attention (head-major scores, batch-major mask), fitted to the 02 contract."""
import numpy as np
import torch
import torch.nn.functional as F


class ScaledDotProductAttention(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.sqrt_dim = np.sqrt(dim)

    def forward(self, query, key, value, mask=None):
        score = torch.bmm(query, key.transpose(1, 2)) / self.sqrt_dim
        if mask is not None:
            score.masked_fill_(mask.view(score.size()), -float("Inf"))
        attn = F.softmax(score, -1)
        context = torch.bmm(attn, value)
        return context, attn


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_head = int(embed_dim / num_heads)
        self.num_heads = num_heads
        self.scaled_dot_attn = ScaledDotProductAttention(self.d_head)
        self.q_proj = torch.nn.Linear(embed_dim, self.d_head * num_heads, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, self.d_head * num_heads, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, self.d_head * num_heads, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        batch_size = value.size(0)
        lq, lk = query.size(1), key.size(1)
        query = self.q_proj(query).view(batch_size, -1, self.num_heads, self.d_head)
        key = self.k_proj(key).view(batch_size, -1, self.num_heads, self.d_head)
        value = self.v_proj(value).view(batch_size, -1, self.num_heads, self.d_head)
        query = query.permute(2, 0, 1, 3).contiguous().view(batch_size * self.num_heads, -1, self.d_head)
        key = key.permute(2, 0, 1, 3).contiguous().view(batch_size * self.num_heads, -1, self.d_head)
        value = value.permute(2, 0, 1, 3).contiguous().view(batch_size * self.num_heads, -1, self.d_head)
        if mask is not None:
            mask = ~torch.broadcast_to(mask, (batch_size, 1, lq, lk))[:, 0]
            mask = mask.unsqueeze(1).repeat(1, self.num_heads, 1, 1)
        context, attn = self.scaled_dot_attn(query, key, value, mask)
        context = context.view(self.num_heads, batch_size, -1, self.d_head)
        context = context.permute(1, 2, 0, 3).contiguous().view(batch_size, -1, self.num_heads * self.d_head)
        return context, attn.view(self.num_heads, batch_size, lq, lk).transpose(0, 1)
