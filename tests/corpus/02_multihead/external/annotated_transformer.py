# corpus: buggy
# fails: test_matches_reference_float64 test_fully_masked_rows
# source: https://github.com/harvardnlp/annotated-transformer/blob/0a91a254735c07532e23733dce8a693e504f3a08/the_annotated_transformer.py
# source: (harvardnlp/annotated-transformer, the_annotated_transformer.py: attention and MultiHeadedAttention)
# commit: 0a91a254735c07532e23733dce8a693e504f3a08
# licence: MIT
# adapted: re-expressed, not copied: the operations, their order and constants are the source's. The four
# adapted: clones(nn.Linear(d_model, d_model), 4) are the contract's q_proj, k_proj, v_proj, out_proj (with its bias
# adapted: flag); the constructor takes (embed_dim, num_heads) and keeps the source's dropout=0.1 default. The source
# adapted: unsqueezes a (B, Lq, Lk) mask for the heads; the contract's mask is already broadcastable to (B, H, Lq, Lk),
# adapted: so that unsqueeze is left out. forward returns the source's (output, self.attn).
# bug: dropout (p=0.1, the default) is applied to the attention weights, so in training mode two identical calls
# bug: differ and the weights do not sum to 1; masked scores are filled with -1e9, so a fully masked row gets uniform
# bug: weights instead of zeros.
# expected-diagnosis: dropout is left on (the outputs are random), and -1e9 gives fully masked rows uniform weights
# names: dropout | random | differ; uniform
"""The Annotated Transformer's multi-head attention, fitted to the 02 contract."""
import math

import torch


def attention(query, key, value, mask=None, dropout=None):
    d_k = query.size(-1)
    scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    p_attn = scores.softmax(dim=-1)
    if dropout is not None:
        p_attn = dropout(p_attn)
    return torch.matmul(p_attn, value), p_attn


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True, dropout=0.1):
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
        self.dropout = torch.nn.Dropout(p=dropout)

    def forward(self, query, key, value, mask=None):
        nbatches = query.size(0)
        query, key, value = [lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
                             for lin, x in zip((self.q_proj, self.k_proj, self.v_proj), (query, key, value))]
        x, self.attn = attention(query, key, value, mask=mask, dropout=self.dropout)
        x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
        return self.out_proj(x), self.attn
