# corpus: buggy
# fails: test_constructor test_model_constructor
# source: https://github.com/sooftware/attentions/blob/84347237608e022de8b881abdb7e8bdcfc006d8b/attentions.py
# source: (sooftware/attentions, attentions.py: AdditiveAttention)
# commit: 84347237608e022de8b881abdb7e8bdcfc006d8b
# licence: MIT
# adapted: re-expressed, not copied. score_proj is score; the constructor takes (query_dim, key_dim, hidden_dim)
# adapted: for the source's one hidden_dim. The source's query is (B, q_len, H): the contract's (B, Dq) query gets a
# adapted: q_len axis of 1, and the context loses it after. The source takes no mask, so mask is accepted and unused.
# adapted: The source has no encoder-decoder: Encoder, Decoder and Seq2Seq are not defined.
# bug: an extra learned bias inside the tanh and a biased score layer (the contract has neither); no masking at all,
# bug: so padding gets weight and a fully masked row gets ordinary weights.
# expected-diagnosis: extra parameters / biases in the attention; the mask is ignored
# names: bias | parameter; mask is ignored
"""A collection's additive (Bahdanau) attention, fitted to the 03 contract (attention only)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)
        self.bias = nn.Parameter(torch.rand(hidden_dim).uniform_(-0.1, 0.1))
        self.score = nn.Linear(hidden_dim, 1)

    def forward(self, query, keys, values, mask=None):
        score = self.score(torch.tanh(self.key_proj(keys) + self.query_proj(query.unsqueeze(1)) + self.bias)).squeeze(-1)
        attn = F.softmax(score, dim=-1)
        context = torch.bmm(attn.unsqueeze(1), values)
        return context.squeeze(1), attn
