# corpus: buggy
# fails: test_constructor
# source: https://github.com/1666sApple/Transformer-based-natural-machine-translation/blob/7b4b908c76500dfd3ec4b4743268e8e0cae6d6db/model/BahdanauAttentionQKV.py
# source: (1666sApple/Transformer-based-natural-machine-translation, model/BahdanauAttentionQKV.py)
# commit: 7b4b908c76500dfd3ec4b4743268e8e0cae6d6db
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. query_layer/key_layer/energy_layer are query_proj/key_proj/score with the
# adapted: source's biases (nn.Linear's default); the constructor takes (query_dim, key_dim, hidden_dim) for the
# adapted: source's (hidden_size, query_size, key_size). The source is sequence-first: the keys are passed to it as
# adapted: keys.transpose(0, 1) and its mask (B, L) transposed to (L, B) for its (Src, B) scores. It returns only the
# adapted: weights: the context is weights @ values (the contract's). Its unused dropout (p=0.15) is kept, unused.
# adapted: The source has no encoder-decoder: Encoder, Decoder and Seq2Seq are not defined.
# bug: all three projections have biases (the contract's have none); masked scores are set to -inf through .data
# bug: (hidden from autograd), so a fully masked row gives NaN.
# expected-diagnosis: the projections have biases; a row with no real position gives NaN
# names: bias; NaN
"""A student NMT project's Bahdanau attention (sequence-first), fitted to the 03 contract (attention only)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim, dropout_p=0.15):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim)
        self.key_proj = nn.Linear(key_dim, hidden_dim)
        self.score = nn.Linear(hidden_dim, 1)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, query, keys, values, mask=None):
        encoder_outputs = keys.transpose(0, 1)
        query_out = self.query_proj(query)
        key_out = self.key_proj(encoder_outputs)
        energy_input = torch.tanh(query_out.unsqueeze(0) + key_out)
        energies = self.score(energy_input).squeeze(2)
        if mask is not None:
            energies.data.masked_fill_(mask.transpose(0, 1) == 0, float("-inf"))
        weights = F.softmax(energies, dim=0).transpose(0, 1)
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights
