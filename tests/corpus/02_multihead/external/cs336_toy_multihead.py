# corpus: buggy
# fails: test_fully_masked_rows test_matches_reference_float64
# diagnosis: give NaN | float32 constant
# source: https://github.com/lllldj/cs336/blob/b4ab5d3354c48feefe4c275c060f2a2f68aef91c/cs336_basics/myFunctional.py
# source: (lllldj/cs336, a Stanford CS336 assignment 1 attempt: toy_softmax, toy_product_atte, toy_multihead_atte)
# commit: b4ab5d3354c48feefe4c275c060f2a2f68aef91c
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. The source's weight matrices Qp/Kp/Vp/proj (in_features @ W.T) are the
# adapted: contract's q_proj/k_proj/v_proj/out_proj Linear layers (with their bias flag); the source is
# adapted: self-attention with a fixed causal torch.tril mask: its projections apply to query, key and value and the
# adapted: contract's mask takes the tril's place. forward returns the output and the per-head weights, stacked.
# bug: masked scores are filled with -inf, so a fully masked row gives NaN; d_k = torch.tensor(Q.shape[-1]) is an
# bug: integer tensor whose sqrt is float32, a float32-rounded constant in float64 code; the heads run in a Python
# bug: loop.
# expected-diagnosis: fully masked rows give NaN; the scale is a float32 constant (float64 precision lost)
# names: NaN; float32 | precision
"""A CS336 student's per-head attention, fitted to the 02 contract."""
import torch


def toy_softmax(x):
    sx = x - x.max(-1, keepdim=True).values
    ex = sx.exp()
    return ex / ex.sum(-1, keepdim=True)


def toy_product_atte(Q, K, V, mask=None):
    d_k = torch.tensor(Q.shape[-1])
    Qk = Q @ K.transpose(-2, -1) / torch.sqrt(d_k)
    if mask is not None:
        Qk = Qk.masked_fill(mask == False, float("-inf"))  # noqa: E712 (as in the source)
    sQk = toy_softmax(Qk)
    return sQk @ V, sQk


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_model, self.num_heads = embed_dim, num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        Qs = self.q_proj(query).split(self.d_model // self.num_heads, -1)
        Ks = self.k_proj(key).split(self.d_model // self.num_heads, -1)
        Vs = self.v_proj(value).split(self.d_model // self.num_heads, -1)
        heads = [toy_product_atte(Qs[i], Ks[i], Vs[i], None if mask is None else torch.broadcast_to(
            mask, (query.shape[0], self.num_heads, query.shape[1], key.shape[1]))[:, i]) for i in range(self.num_heads)]
        atts = torch.cat([out for out, _ in heads], -1)
        return self.out_proj(atts), torch.stack([w for _, w in heads], dim=1)
