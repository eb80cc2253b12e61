# corpus: hostile
"""Hostile: PyTorch's own multi-head attention, which 02 bans, reached where a static scan
cannot read the name (importlib and a computed attribute name) and taken back out of the
run-time recorder's wrapper (``__wrapped__``), so that neither half of the banned-call rule
sees it. Its outputs are right: only the rule can take the points."""
import importlib

import torch

_module = importlib.import_module("torch.nn." + "functional")
_name = "multi_head_" + "attention_forward"
_forward = getattr(_module, _name)
_forward = getattr(_forward, "__wrapped__", _forward)


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.num_heads = num_heads
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        q, k, v = (t.transpose(0, 1) for t in (query, key, value))
        E = query.shape[-1]
        attn_mask = None if mask is None else ~torch.broadcast_to(mask, (query.shape[0], 1, query.shape[1],
                                                                        key.shape[1])).repeat(
            1, self.num_heads, 1, 1).reshape(-1, query.shape[1], key.shape[1])
        out, weights = _forward(
            q, k, v, E, self.num_heads, None, None, None, None, False, 0.0, self.out_proj.weight,
            self.out_proj.bias, training=False, need_weights=True, attn_mask=attn_mask,
            use_separate_proj_weight=True, q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight, average_attn_weights=False,
            in_proj_bias=None if self.q_proj.bias is None else torch.cat(
                [self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]))
        return out.transpose(0, 1), weights
