# corpus: buggy
# fails: test_matches_reference_float64 test_fully_masked_rows
# diagnosis: something random is active | give NaN
# source: https://github.com/devadigapratham/prathameshdevadiga/blob/7e9dfdb0c2da82f3b1da0ec45fc02f49a288730a/src/content/post/self-attention.md
# source: (devadigapratham/prathameshdevadiga, the blog post "Self Attention in Transformers", 10 April 2024:
# source: MultiheadAttention)
# commit: 7e9dfdb0c2da82f3b1da0ec45fc02f49a288730a
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. query_linear/key_linear/value_linear/output_linear are q_proj, k_proj, v_proj,
# adapted: out_proj (with the bias flag).
# bug: F.dropout(attention_weights, p=0.1) is always on (F.dropout's training defaults to True, even in eval mode);
# bug: the scale is sqrt of a float32 tensor (a float32-rounded constant in float64 code); masked scores are filled
# bug: with -inf, so fully masked rows give NaN.
# expected-diagnosis: dropout is left on (outputs are random), and fully masked rows give NaN
# names: dropout | random | differ; NaN; float32 | precision
"""A blog post's PyTorch multi-head attention, fitted to the 02 contract."""
import torch
import torch.nn.functional as F


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.d_model = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        batch_size = query.size(0)
        Q, K, V = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        Q = Q.view(batch_size, -1, self.num_heads, self.head_dim).transpose(1, 2)
        K = K.view(batch_size, -1, self.num_heads, self.head_dim).transpose(1, 2)
        V = V.view(batch_size, -1, self.num_heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(Q, K.transpose(-2, -1)) / torch.sqrt(torch.tensor(self.head_dim, dtype=torch.float32))
        if mask is not None:
            scores = scores.masked_fill(mask == 0, float("-inf"))
        attention_weights = F.softmax(scores, dim=-1)
        attention_weights = F.dropout(attention_weights, p=0.1)
        attention_output = torch.matmul(attention_weights, V)
        attention_output = attention_output.transpose(1, 2).contiguous().view(batch_size, -1, self.d_model)
        return self.out_proj(attention_output), attention_weights
