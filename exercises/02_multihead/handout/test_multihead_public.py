"""Public checks of 02_multihead, as the student handout ships them (`grade handout`).

The oracle is torch.nn.MultiheadAttention (batch_first, float64) with the same weights
mapped into it (in_proj = cat(q, k, v)), as the contract says it must agree, never the
course's reference solution. Masks leave every query at least one key (there
MultiheadAttention and the contract agree).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from grader import kit
from grader.kit.strategies import MHAInputs, mha_inputs

MODEL = "MultiHeadAttention"
NAMES = ("output", "weights")
HINT = "Project, split into heads with view(B, L, H, Dh).transpose(1, 2), attend, merge heads, project."


def oracle(inputs: MHAInputs, dtype: torch.dtype = torch.float64):
    """(output, per-head weights) of torch.nn.MultiheadAttention with the inputs' weights."""
    E, state = inputs.embed_dim, inputs.state_dict(dtype)
    query, key, value, mask = inputs.tensors(dtype)
    mha = torch.nn.MultiheadAttention(E, inputs.num_heads, bias=inputs.bias, batch_first=True, dtype=dtype)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([state[f"{n}.weight"] for n in ("q_proj", "k_proj", "v_proj")]))
        mha.out_proj.weight.copy_(state["out_proj.weight"])
        if inputs.bias:
            mha.in_proj_bias.copy_(torch.cat([state[f"{n}.bias"] for n in ("q_proj", "k_proj", "v_proj")]))
            mha.out_proj.bias.copy_(state["out_proj.bias"])
        attn_mask = None
        if mask is not None:  # ours: True = may attend; MultiheadAttention's: True = may not
            full = torch.broadcast_to(mask, (inputs.batch, inputs.num_heads, inputs.lq, inputs.lk))
            attn_mask = (~full).reshape(inputs.batch * inputs.num_heads, inputs.lq, inputs.lk)
        return mha(query, key, value, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)


@pytest.mark.points(2)
def test_constructor(student):
    """Submodules q_proj, k_proj, v_proj, out_proj; ValueError when embed_dim % num_heads != 0"""
    inputs = MHAInputs(batch=1, lq=1, lk=1, num_heads=2, head_dim=3, bias=True, mask_kind="none", seed=0)
    module = student.new(MODEL, inputs.embed_dim, inputs.num_heads)
    kit.expect_parameters(module, inputs.state_dict(torch.float32), what=f"{MODEL}(6, 2)")
    try:
        student.new(MODEL, 7, 2)
    except kit.StudentException as raised:
        if raised.type_name != "ValueError":
            raise kit.CheckFailure(f"{MODEL}(7, 2) raised {raised.type_name}; it must raise ValueError.")
    else:
        raise kit.CheckFailure(f"{MODEL}(7, 2) did not raise: 7 is not divisible by 2, so it must raise ValueError.")


def _check(student, inputs: MHAInputs, dtype: torch.dtype) -> None:
    module = kit.build(student, MODEL, inputs.embed_dim, inputs.num_heads, bias=inputs.bias,
                       state=inputs.state_dict(dtype), dtype=dtype)
    query, key, value, mask = inputs.tensors(dtype)
    exact, same = oracle(inputs), oracle(inputs, dtype)
    got = kit.expect_tensors(kit.forward(module, query, key, value, mask=mask).value, same, names=NAMES,
                             what=f"{MODEL}.forward")
    for value_got, right, ref, name in zip(got, exact, same, NAMES):
        kit.assert_close(value_got, oracle=right, ref=ref, name=name, hint=HINT)


@pytest.mark.points(4)
@given(inputs=mha_inputs(dtypes=(torch.float64, torch.float32)))
def test_matches_torch_multihead_attention(student, inputs):
    """Output and per-head weights match torch.nn.MultiheadAttention (no mask)"""
    _check(student, inputs, inputs.dtype)


@pytest.mark.points(3)
@given(inputs=mha_inputs(masks=("causal", "padding", "random")).filter(
    lambda i: i.mask_kind != "causal" or i.lk >= i.lq))  # every query keeps a key
def test_masks_match_torch_multihead_attention(student, inputs):
    """Causal, padding and general masks (True = may attend) match torch.nn.MultiheadAttention"""
    _check(student, inputs, torch.float64)
