# corpus: buggy
# fails: test_fully_masked_rows
# passes: test_matches_reference_float64 test_causal_mask test_padding_mask
# diagnosis: uniform weights
# source: https://github.com/hyunwoongko/transformer/blob/8f7aaa19d37b088c156db0512868127ba9bf1a0f/models/layers/multi_head_attention.py
# source: and .../blob/9c5515deafd0b224b50ea7500d38f6c370682633/models/layers/scale_dot_product_attention.py
# source: (hyunwoongko/transformer, a popular from-scratch Transformer, after its fixes)
# commit: 8f7aaa19d37b088c156db0512868127ba9bf1a0f (multi_head_attention.py), 9c5515deafd0b224b50ea7500d38f6c370682633
# commit: (scale_dot_product_attention.py)
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. w_q, w_k, w_v, w_concat are q_proj, k_proj, v_proj, out_proj (with the bias
# adapted: flag); forward returns (out, attention), which the source computes but does not return.
# bug: masked scores are filled with -10000, so a fully masked row gets uniform weights instead of zeros.
# expected-diagnosis: fully masked rows get uniform weights (a large negative fill instead of -inf and zeros)
# names: uniform
"""A popular from-scratch Transformer's multi-head attention, fitted to the 02 contract."""
import math

import torch


class ScaleDotProductAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.softmax = torch.nn.Softmax(dim=-1)

    def forward(self, q, k, v, mask=None):
        batch_size, head, length, d_tensor = k.size()
        k_t = k.transpose(2, 3)
        score = (q @ k_t) / math.sqrt(d_tensor)
        if mask is not None:
            score = score.masked_fill(mask == 0, -10000)
        score = self.softmax(score)
        v = score @ v
        return v, score


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.n_head = num_heads
        self.attention = ScaleDotProductAttention()
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        q, k, v = self.split(q), self.split(k), self.split(v)
        out, attention = self.attention(q, k, v, mask=mask)
        out = self.out_proj(self.concat(out))
        return out, attention

    def split(self, tensor):
        batch_size, length, d_model = tensor.size()
        d_tensor = d_model // self.n_head
        return tensor.view(batch_size, length, self.n_head, d_tensor).transpose(1, 2)

    def concat(self, tensor):
        batch_size, head, length, d_tensor = tensor.size()
        return tensor.transpose(1, 2).contiguous().view(batch_size, length, head * d_tensor)
