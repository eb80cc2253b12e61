# corpus: buggy
# fails: test_matches_reference_float64 test_padding_mask
# diagnosis: out_proj
# source: https://github.com/hyunwoongko/transformer/blob/10c0a9d72672c558964c8a8ec518ef2b93144ca3/models/layers/multi_head_attention.py
# source: and .../blob/09c74b80162ac571584ca29379236e95453fe43b/models/layers/scale_dot_product_attention.py
# source: (hyunwoongko/transformer, an early version of a popular from-scratch Transformer, October 2019)
# commit: 10c0a9d72672c558964c8a8ec518ef2b93144ca3 (multi_head_attention.py), 09c74b80162ac571584ca29379236e95453fe43b
# commit: (scale_dot_product_attention.py)
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. w_q, w_k, w_v are q_proj, k_proj, v_proj (with the bias flag); the contract
# adapted: needs an out_proj, which this version never applies (it has none), so out_proj exists and is unused.
# adapted: The source's nn.Softmax() (no dim) is kept; forward returns (out, score), which the source computes.
# bug: heads are split with view(B, H, L, Dh) and merged with view(B, L, E), without transposes; the key is
# bug: "transposed" with view instead of transpose; scores are divided by sqrt(d_model), not sqrt(Dh); masked scores
# bug: are filled with -1e-12 (the mask does nothing); nn.Softmax() without dim takes dim=1 of a 4-D tensor (the heads);
# bug: the output projection is missing.
# expected-diagnosis: several mistakes at once: heads split and merged without transpose, the key reshaped instead
# expected-diagnosis: of transposed, scale by sqrt(embed_dim), softmax over the heads, mask ignored, no output projection
# names: view(B, H, L, Dh) | split; reshape(B, L, E) | merged; sqrt(embed_dim); softmax; mask is ignored; out_proj
"""An early from-scratch Transformer's multi-head attention (several bugs later fixed upstream), fitted to 02."""
import math

import torch


class ScaleDotProductAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.softmax = torch.nn.Softmax()

    def forward(self, q, k, v, mask=None, e=1e-12):
        batch_size, head, length, d_tensor = k.size()
        d_model = head * d_tensor
        k_t = k.view(batch_size, head, d_tensor, length)
        score = (q @ k_t) / math.sqrt(d_model)
        if mask is not None:
            score = score.masked_fill(mask == 0, -e)
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
        q, k, v = self.project(q), self.project(k), self.project(v)
        out, attention = self.attention(q, k, v, mask=mask)
        return self.concat(out), attention

    def project(self, tensor):
        batch_size, length, d_model = tensor.size()
        d_tensor = d_model // self.n_head
        return tensor.view(batch_size, self.n_head, length, d_tensor)

    def concat(self, tensor):
        batch_size, head, length, d_tensor = tensor.size()
        return tensor.view(batch_size, length, head * d_tensor)
