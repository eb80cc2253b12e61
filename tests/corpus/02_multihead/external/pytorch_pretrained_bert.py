# corpus: buggy
# fails: test_matches_reference_float64 test_masked_keys_cannot_leak
# source: https://github.com/huggingface/transformers/blob/0159c798fd9dc6a56ea45e25b0193d4ca0a68861/pytorch_pretrained_bert/modeling.py
# source: (huggingface/transformers when it was pytorch-pretrained-BERT: BertSelfAttention, BertSelfOutput.dense,
# source: and BertModel's extended attention mask (1.0 - mask) * -10000.0)
# commit: 0159c798fd9dc6a56ea45e25b0193d4ca0a68861
# licence: Apache-2.0
# adapted: re-expressed, not copied. query/key/value are q_proj/k_proj/v_proj and BertSelfOutput's dense is out_proj
# adapted: (with the bias flag); BertSelfOutput's dropout, residual and LayerNorm belong to the layer around the
# adapted: attention and are left out. The source is self-attention over hidden_states: its projections apply to
# adapted: query, key and value. The boolean mask becomes the additive mask BertModel builds from it,
# adapted: (1.0 - mask) * -10000.0, in the scores' dtype. attention_probs_dropout_prob keeps BertConfig's default 0.1.
# adapted: forward returns (context, attention_probs), as with output_attentions.
# bug: dropout (0.1) on the attention probabilities, so two identical calls differ; the mask is additive (-10000), so
# bug: a masked score above about -10000 + the real scores still gets weight and a fully masked row gets ordinary
# bug: (not zero) weights.
# expected-diagnosis: dropout is left on (outputs are random); the mask is a finite additive penalty, so masked keys
# expected-diagnosis: still leak and fully masked rows are not zero
# names: dropout | random | differ; penalty | additive | leak
"""pytorch-pretrained-BERT's self-attention with its additive mask, fitted to the 02 contract."""
import math

import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    attention_probs_dropout_prob = 0.1

    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.num_attention_heads = num_heads
        self.attention_head_size = int(embed_dim / num_heads)
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.q_proj = nn.Linear(embed_dim, self.all_head_size, bias=bias)
        self.k_proj = nn.Linear(embed_dim, self.all_head_size, bias=bias)
        self.v_proj = nn.Linear(embed_dim, self.all_head_size, bias=bias)
        self.dropout = nn.Dropout(self.attention_probs_dropout_prob)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(*new_x_shape).permute(0, 2, 1, 3)

    def forward(self, query, key, value, mask=None):
        query_layer = self.transpose_for_scores(self.q_proj(query))
        key_layer = self.transpose_for_scores(self.k_proj(key))
        value_layer = self.transpose_for_scores(self.v_proj(value))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        if mask is not None:
            attention_mask = (1.0 - mask.to(dtype=attention_scores.dtype)) * -10000.0
            attention_scores = attention_scores + attention_mask
        attention_probs = nn.Softmax(dim=-1)(attention_scores)
        attention_probs = self.dropout(attention_probs)
        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        context_layer = context_layer.view(*(context_layer.size()[:-2] + (self.all_head_size,)))
        return self.out_proj(context_layer), attention_probs
