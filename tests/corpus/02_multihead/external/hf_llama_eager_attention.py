# corpus: buggy
# fails: test_cross_attention_shapes test_causal_mask test_fully_masked_rows
# diagnosis: give NaN | only as accurate as float32
# source: https://github.com/huggingface/transformers/blob/002272831fba584eb30dca9729c1be456836960a/src/transformers/models/llama/modeling_llama.py
# source: (huggingface/transformers, modeling_llama.py: LlamaAttention.forward, the eager path, with the additive
# source: mask the library builds from a boolean one: 0 where allowed, torch.finfo(dtype).min where masked)
# commit: 002272831fba584eb30dca9729c1be456836960a
# licence: Apache-2.0
# adapted: re-expressed, not copied. q_proj/k_proj/v_proj keep their names, o_proj is out_proj, all with the
# adapted: contract's bias flag (the source's config.attention_bias); num_key_value_heads = num_heads (no grouped
# adapted: queries, so repeat_kv is the identity); the rotary position embedding, the KV cache and pretraining_tp
# adapted: are left out (positions are not part of the contract). The source is self-attention over hidden_states:
# adapted: its projections apply to query, key and value, each reshaped as the source reshapes them
# adapted: (view(bsz, q_len, ...) for all three). attention_dropout keeps LlamaConfig's default 0.0. The boolean mask
# adapted: becomes the library's additive mask in the scores' dtype. forward returns (attn_output, attn_weights).
# bug: the softmax is computed in float32 and cast back ("upcast attention to fp32"), so float64 input loses
# bug: precision, and float64's finfo.min becomes -inf in float32, so a fully masked float64 row gives NaN (a
# bug: fully masked float32 row gets uniform weights); keys and values are reshaped with the query's length, so
# bug: cross-attention (Lk != Lq) raises.
# expected-diagnosis: float64 input is computed partly in float32 (the upcast softmax); keys and values are
# expected-diagnosis: reshaped with the query length, so cross-attention fails; fully masked rows are not zero
# names: float32 | precision; cross-attention | lk; uniform | nan
"""Hugging Face's eager Llama attention (fp32-upcast softmax, additive finfo.min mask), fitted to the 02 contract."""
import math

import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    attention_dropout = 0.0

    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.hidden_size = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.num_key_value_heads = num_heads
        if (self.head_dim * self.num_heads) != self.hidden_size:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.q_proj = nn.Linear(self.hidden_size, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.out_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=bias)

    def forward(self, query, key, value, mask=None):
        bsz, q_len, _ = query.size()
        query_states = self.q_proj(query)
        key_states = self.k_proj(key)
        value_states = self.v_proj(value)
        query_states = query_states.view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = key_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        value_states = value_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        if mask is not None:
            causal_mask = torch.zeros((), dtype=attn_weights.dtype).masked_fill(~mask, torch.finfo(attn_weights.dtype).min)
            attn_weights = attn_weights + causal_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_weights = nn.functional.dropout(attn_weights, p=self.attention_dropout, training=self.training)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, q_len, self.hidden_size)
        return self.out_proj(attn_output), attn_weights
