# corpus: buggy
# fails: test_matches_reference_float64 test_half_precision test_fully_masked_rows
# diagnosis: mixes dtypes | float32 constant | uniform weights
# source: https://github.com/bentrevett/pytorch-seq2seq/blob/041994c351cc1d743fc589756dd888d146336cc2/6%20-%20Attention%20is%20All%20You%20Need.ipynb
# source: (bentrevett/pytorch-seq2seq, "6 - Attention is All You Need.ipynb": MultiHeadAttentionLayer; the same
# source: class, with its float32 scale tensor, is in many repositories that follow the tutorial)
# commit: 041994c351cc1d743fc589756dd888d146336cc2
# licence: MIT
# adapted: re-expressed, not copied. fc_q/fc_k/fc_v/fc_o are q_proj, k_proj, v_proj, out_proj (with the bias flag);
# adapted: the source's dropout and device have no defaults and the contract has neither, so dropout is 0 and the
# adapted: device is the CPU (.to(device) of the scale is dropped).
# bug: the scale is a float32 tensor of shape (1,): float16 scores divided by it become float32 (and the float16
# bug: values then meet float32 weights: RuntimeError), float64 scores are divided by a float32-rounded sqrt(head_dim);
# bug: masked scores are filled with -1e10, which gives fully masked rows uniform weights.
# expected-diagnosis: the float32 scale tensor changes the dtype (and precision) of the scores; -1e10 gives fully
# expected-diagnosis: masked rows uniform weights
# names: float32 | dtype | precision; uniform
"""bentrevett's "Attention is All You Need" tutorial multi-head attention layer, fitted to the 02 contract."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.hid_dim = embed_dim
        self.n_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.dropout = torch.nn.Dropout(0.0)
        self.scale = torch.sqrt(torch.FloatTensor([self.head_dim]))

    def forward(self, query, key, value, mask=None):
        batch_size = query.shape[0]
        Q, K, V = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        Q = Q.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        K = K.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        V = V.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        energy = torch.matmul(Q, K.permute(0, 1, 3, 2)) / self.scale
        if mask is not None:
            energy = energy.masked_fill(mask == 0, -1e10)
        attention = torch.softmax(energy, dim=-1)
        x = torch.matmul(self.dropout(attention), V)
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(batch_size, -1, self.hid_dim)
        return self.out_proj(x), attention
