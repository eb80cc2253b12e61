# corpus: buggy
# fails: test_constructor test_matches_reference_float64
# source: https://github.com/aladdinpersson/Machine-Learning-Collection/blob/71faea865041410473a8c0543aaf48b51c63e92f/ML/Pytorch/more_advanced/transformer_from_scratch/transformer_from_scratch.py
# source: (aladdinpersson/Machine-Learning-Collection, transformer_from_scratch.py: SelfAttention; the class, with
# source: its per-head projections and its sqrt(embed_size) scale, is copied into many student repositories)
# commit: 71faea865041410473a8c0543aaf48b51c63e92f
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. values/keys/queries/fc_out are v_proj/k_proj/q_proj/out_proj, shaped as the
# adapted: source shapes them (the projections are Linear(head_dim, head_dim, bias=False), out_proj gets the bias
# adapted: flag); the source's forward(values, keys, query, mask) takes the contract's order (query, key, value,
# adapted: mask); it returns the output, and the weights it computes are returned too.
# bug: the projections are one Linear(head_dim, head_dim) shared by all heads, applied after the split (the
# bug: contract's are Linear(E, E) before it); scores are divided by sqrt(embed_size), not sqrt(head_dim); masked
# bug: scores are filled with -1e20, which overflows float16 and gives fully masked rows uniform weights.
# expected-diagnosis: the projections have the wrong shape (a head_dim x head_dim layer shared by the heads); the
# expected-diagnosis: scale is sqrt(embed_dim), not sqrt(head_dim); -1e20 gives fully masked rows uniform weights
# names: should be linear | q_proj | shape; sqrt(embed_dim); uniform; does not fit in float16
"""A from-scratch Transformer's self-attention (a widely copied video tutorial), fitted to the 02 contract."""
import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.embed_size = embed_dim
        self.heads = num_heads
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.v_proj = nn.Linear(self.head_dim, self.head_dim, bias=False)
        self.k_proj = nn.Linear(self.head_dim, self.head_dim, bias=False)
        self.q_proj = nn.Linear(self.head_dim, self.head_dim, bias=False)
        self.out_proj = nn.Linear(num_heads * self.head_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        N = query.shape[0]
        value_len, key_len, query_len = value.shape[1], key.shape[1], query.shape[1]
        values = value.reshape(N, value_len, self.heads, self.head_dim)
        keys = key.reshape(N, key_len, self.heads, self.head_dim)
        query = query.reshape(N, query_len, self.heads, self.head_dim)
        values = self.v_proj(values)
        keys = self.k_proj(keys)
        queries = self.q_proj(query)
        energy = torch.einsum("nqhd,nkhd->nhqk", [queries, keys])
        if mask is not None:
            energy = energy.masked_fill(mask == 0, float("-1e20"))
        attention = torch.softmax(energy / (self.embed_size ** (1 / 2)), dim=3)
        out = torch.einsum("nhql,nlhd->nqhd", [attention, values]).reshape(N, query_len, self.heads * self.head_dim)
        return self.out_proj(out), attention
