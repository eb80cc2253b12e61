# corpus: buggy
# fails: test_fully_masked_rows
# passes: test_matches_reference_float64 test_causal_mask test_padding_mask
# diagnosis: give NaN
# source: https://github.com/rasbt/LLMs-from-scratch/blob/0fd91d612beb47da861eeaa92f9fedd68a8cf5c6/ch04/01_main-chapter-code/previous_chapters.py
# source: (rasbt/LLMs-from-scratch, the book "Build a Large Language Model (From Scratch)": MultiHeadAttention)
# commit: 0fd91d612beb47da861eeaa92f9fedd68a8cf5c6
# licence: Apache-2.0
# adapted: re-expressed, not copied. W_query/W_key/W_value/out_proj are q_proj, k_proj, v_proj, out_proj, all with
# adapted: the contract's bias flag (the source's qkv_bias, default False, and an always-biased out_proj); the
# adapted: source's dropout has no default and the contract has none, so it is 0. The source is self-attention over
# adapted: one x with a causal buffer (1 = masked): here its projections apply to query, key and value, and the
# adapted: contract's mask takes the buffer's place as ~mask (with no mask nothing is masked). forward returns
# adapted: (context_vec, attn_weights).
# bug: masked scores are filled with -inf, so a fully masked row's softmax is NaN (the source's causal mask never
# bug: masks a whole row, a padding mask does).
# expected-diagnosis: fully masked rows give NaN (-inf everywhere, then softmax)
# names: NaN
"""The multi-head attention of "Build a Large Language Model (From Scratch)", fitted to the 02 contract."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_out = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.dropout = torch.nn.Dropout(0.0)

    def forward(self, query, key, value, mask=None):
        b, num_tokens, _ = query.shape
        keys = self.k_proj(key).view(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        queries = self.q_proj(query).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        values = self.v_proj(value).view(b, -1, self.num_heads, self.head_dim).transpose(1, 2)
        attn_scores = queries @ keys.transpose(2, 3)
        if mask is not None:
            attn_scores.masked_fill_(~mask, -torch.inf)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        attn_weights = self.dropout(attn_weights)
        context_vec = (attn_weights @ values).transpose(1, 2)
        context_vec = context_vec.contiguous().view(b, num_tokens, self.d_out)
        return self.out_proj(context_vec), attn_weights
