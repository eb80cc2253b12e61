"""Checks for 03_encoder_decoder, part 1: AdditiveAttention. Run by `grade exercises/03_encoder_decoder`.

The sequence-to-sequence model built on it is checked in test_seq2seq.py.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, Grad, compare, diagnose
from grader.kit.strategies import AdditiveInputs, additive_inputs, randn
from attention_reference import encoder_decoder as ref
from attention_reference.mistakes import additive as mistakes

CLASS = "AdditiveAttention"
NAMES = ("context", "weights")
INPUTS = ("query", "keys", "values")
HINT = "Work through the formula in the README on a batch of one with L=3, printing each stage's shape."


def build(student, inputs: AdditiveInputs, dtype: torch.dtype):
    return kit.build(student, CLASS, inputs.query_dim, inputs.key_dim, inputs.hidden_dim,
                     state=inputs.state_dict(dtype), dtype=dtype)


def forward(module, query, keys, values, mask, **options):
    return kit.forward(module, query, keys, values, mask=mask, **options)


def reference(inputs: AdditiveInputs, dtype: torch.dtype):
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).to(dtype)
    model.load_state_dict(inputs.state_dict(dtype))
    with torch.no_grad():
        return model(*inputs.tensors(dtype))


def compare_pair(got, inputs: AdditiveInputs, dtype: torch.dtype) -> None:
    exact, same = kit.oracle_pair(lambda d: reference(inputs, d), dtype=dtype)
    got = kit.expect_tensors(got, same, names=NAMES, what=f"{CLASS}.forward")
    allowed = [compare.allowed_error(s, e) for s, e in zip(same, exact)]
    q, k, v, mask = inputs.tensors(torch.float64)
    params = inputs.state_dict(torch.float64)

    def diagnosis(_):
        return diagnose.message(got, mistakes.MISTAKES, lambda m: mistakes.run(m, q, k, v, params, mask), allowed)

    for index in (1, 0):
        compare.assert_close(got[index], oracle=exact[index], ref=same[index], name=NAMES[index],
                             diagnose=diagnosis, hint=HINT)


@pytest.mark.points(1)
def test_constructor(student):
    """Constructor: query_proj, key_proj and score, without biases"""
    module = student.new(CLASS, 3, 5, 7)
    expected = {"query_proj": (3, 7), "key_proj": (5, 7), "score": (7, 1)}
    for name, (fan_in, fan_out) in expected.items():
        child = module.children.get(name)
        if child is None or child.get("type") != "torch.nn.modules.linear.Linear":
            raise CheckFailure(f"AdditiveAttention(3, 5, 7) needs a torch.nn.Linear named {name!r}.",
                                      details=f"Submodules found: {sorted(module.children) or 'none'}.")
        if (child.get("in_features"), child.get("out_features")) != (fan_in, fan_out) or child.get("bias"):
            raise CheckFailure(
                f"{name} should be Linear({fan_in}, {fan_out}, bias=False), got Linear("
                f"{child.get('in_features')}, {child.get('out_features')}, bias={child.get('bias')}).")
    extra = sorted(set(module.parameters) - {f"{n}.weight" for n in expected})
    if extra:
        raise CheckFailure(f"AdditiveAttention has parameters beyond the three projections: {extra}.")


@pytest.mark.points(3)
@given(inputs=additive_inputs(dtypes=(torch.float64,)))
def test_matches_reference_float64(student, inputs):
    """Context and weights match the reference (float64)"""
    module = build(student, inputs, torch.float64)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float64)


@pytest.mark.points(1)
@given(inputs=additive_inputs(dtypes=(torch.float32,)))
def test_matches_reference_float32(student, inputs):
    """Context and weights match the reference (float32)"""
    module = build(student, inputs, torch.float32)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float32)


@pytest.mark.points(2)
@given(inputs=additive_inputs(masks=("padding",)))
def test_padding_mask(student, inputs):
    """Padding mask: True marks a real position; padding gets weight 0"""
    module = build(student, inputs, torch.float64)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float64)


@pytest.mark.points(1)
@given(inputs=additive_inputs(masks=("empty_rows",)))
def test_fully_masked_rows(student, inputs):
    """A row with no real position: zero weights, zero context, no NaN"""
    module = build(student, inputs, torch.float64)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float64)


@pytest.mark.points(2)
@given(inputs=additive_inputs(masks=("none", "padding", "empty_rows")), grad_seed=st.integers(0, 1000))
def test_gradients(student, inputs, grad_seed):
    """Gradients of inputs and parameters match the reference"""
    module = build(student, inputs, torch.float64)
    q, k, v, mask = inputs.tensors()
    d_context = randn((inputs.batch, inputs.value_dim), seed=grad_seed)
    reply = forward(module, q, k, v, mask, grad=Grad(wrt=(0, 1, 2), grad_outputs=(d_context, None), params=True))
    compare_pair(reply.value, inputs, torch.float64)
    kit.require_graph(reply, output="context")
    leaves = {n: t.clone().requires_grad_(True) for n, t in zip(INPUTS, (q, k, v))}
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).double()
    model.load_state_dict(inputs.state_dict(torch.float64))
    context, _ = model(*leaves.values(), mask)
    context.backward(d_context)
    expected = {n: p.grad for n, p in model.named_parameters()}  # the parameters first, then the inputs
    expected.update({n: t.grad for n, t in leaves.items()})
    kit.check_gradients(reply, expected, inputs=INPUTS)
