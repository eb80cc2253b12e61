"""Checks for 03_encoder_decoder, part 1: AdditiveAttention. Run by `grade exercises/03_encoder_decoder`.

The sequence-to-sequence model built on it is checked in test_seq2seq.py.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, Grad, compare, diagnose
from grader.kit.strategies import AdditiveInputs, additive_inputs, current_device, randn, rich_additive_inputs
from attention_reference import encoder_decoder as ref
from attention_reference.mistakes import additive as mistakes

CLASS = "AdditiveAttention"
NAMES = ("context", "weights")
INPUTS = ("query", "keys", "values")
HINT = "Work through the formula in the README on a batch of one with L=3, printing each stage's shape."


MSG_BIASES = ("Your attention has biases the README's does not ({names}): nn.Linear has bias=True unless told "
              "otherwise, and an extra bias shifts every score. The other checks ran with your biases at zero.")
HINT_BIASES = "Make each projection Linear(..., bias=False) and add no parameters of your own."


def build(student, inputs: AdditiveInputs, dtype: torch.dtype):
    """The student's module with the bundle's weights loaded, in ``dtype``.

    Biases the contract does not have (nn.Linear's default bias=True, an extra nn.Parameter named
    bias) are loaded as zeros, which computes the contract's formula: test_constructor costs that
    mistake once, and the other checks still see the rest of the code. Deferred: reading its layout
    makes and converts it, and the weights travel with its first call (one request fewer).
    """
    module = student.deferred(CLASS, inputs.query_dim, inputs.key_dim, inputs.hidden_dim)
    if dtype != torch.float32:
        module.to_dtype(dtype)
    state = dict(inputs.state_dict(dtype))
    for name, (shape, _) in extra_biases(module, state).items():
        state[name] = torch.zeros(shape, dtype=dtype)
    module.load_state_dict(state)
    return module


def extra_biases(module, state) -> dict:
    """The module's parameters named ``bias`` (or ``*.bias``) that ``state`` lacks: name -> (shape, dtype)."""
    return {name: info for name, info in module.parameters.items()
            if name not in state and name.split(".")[-1] == "bias"}


def forward(module, query, keys, values, mask, **options):
    return kit.forward(module, query, keys, values, mask=mask, **options)


def reference(inputs: AdditiveInputs, dtype: torch.dtype):
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).to(dtype)
    model.load_state_dict(inputs.state_dict(dtype))
    with torch.no_grad():
        return model(*inputs.tensors(dtype))


def oracle(inputs: AdditiveInputs, dtype: torch.dtype):
    """(float64 oracle, reference in ``dtype``), each a (context, weights) pair: computed once per input
    bundle and device in the grading process (a check asks several times per example). Never change them."""
    return kit.oracle_pair(lambda d: reference(inputs, d), dtype=dtype,
                           key=("additive_attention", inputs, current_device()))


def observe(got, inputs: AdditiveInputs, dtype: torch.dtype, module=None, held: bool = False) -> None:
    """Record the submission's (context, weights) on ``inputs`` for the diagnosis of the whole submission
    (each known mistake computed in ``dtype``; ``module`` asks again on a wrong answer, and with dropout
    held off when the answer changes; ``held``: ``got`` was answered that way)."""
    exact, same = oracle(inputs, dtype)
    if not all(isinstance(g, torch.Tensor) and g.shape == e.shape for g, e in zip(got, exact)):
        return
    q, k, v, mask = inputs.tensors(dtype)
    params = inputs.state_dict(dtype)

    def loose():  # what computing in float32 costs: the budget of the float32 reference
        return [compare.allowed_error(s, e) for s, e in zip(oracle(inputs, torch.float32)[1], exact)]

    def again(calm=False):
        return compare.expect_tuple(forward(module, q, k, v, mask, calm=calm).value, NAMES,
                                    what=f"{CLASS}.forward")

    diagnose.observe(got, exact=exact, allowed=[compare.allowed_error(s, e) for s, e in zip(same, exact)],
                     compute=lambda switches: mistakes.compute(q, k, v, params, mask, **switches),
                     bank=mistakes.MISTAKES, loose=loose if dtype == torch.float64 else None,
                     again=None if module is None else again,
                     calm=None if module is None else lambda: again(calm=True), held=held)


def ask_probes(student, inputs: AdditiveInputs, dtype: torch.dtype) -> None:
    """On the final example, the submission's answer to a richer input of the same kind, recorded too.

    Shrunk examples are small (L = 1, where an ignored mask and uniform weights for an empty
    row both give weight 1): three rows of lengths 3, 2 and 4 tell them apart.
    """
    if student is None or not kit.final_example():
        return
    rich = rich_additive_inputs(inputs.mask_kind, dtype, inputs.score_scale)
    held = diagnose.held_still()  # a random submission: asked with dropout held off, as its example was
    try:
        got = compare.expect_tuple(forward(build(student, rich, dtype), *rich.tensors(dtype), calm=held).value,
                                   NAMES, what=f"{CLASS}.forward")
    except (kit.StudentError, CheckFailure):
        return
    observe(got, rich, dtype, held=held)


def compare_pair(got, inputs: AdditiveInputs, dtype: torch.dtype, student=None, module=None) -> None:
    """Fail with a description unless (context, weights) match the reference; record the answer."""
    exact, same = oracle(inputs, dtype)
    got = kit.expect_tensors(got, same, names=NAMES, what=f"{CLASS}.forward")
    observe(got, inputs, dtype, module)
    for index in (1, 0):
        compare.assert_close(got[index], oracle=exact[index], ref=same[index], name=NAMES[index],
                             diagnose=lambda _: ask_probes(student, inputs, dtype), hint=HINT)


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
        shape = (child.get("in_features"), child.get("out_features"))
        if shape != (fan_in, fan_out) or child.get("bias"):
            biased = shape == (fan_in, fan_out)  # only the bias is wrong: named, and the other checks still run
            biases = ", ".join(sorted(extra_biases(module, {f"{n}.weight": None for n in expected})))
            raise CheckFailure(f"{name} should be Linear({fan_in}, {fan_out}, bias=False), got Linear("
                               f"{shape[0]}, {shape[1]}, bias={child.get('bias')}).",
                               diagnosis=MSG_BIASES.format(names=biases) if biased else None,
                               hint=HINT_BIASES if biased else None)
    extra = sorted(set(module.parameters) - {f"{n}.weight" for n in expected})
    if extra:
        biases = sorted(extra_biases(module, {f"{n}.weight": None for n in expected}))
        raise CheckFailure(f"AdditiveAttention has parameters beyond the three projections: {extra}.",
                           diagnosis=MSG_BIASES.format(names=", ".join(biases)) if biases == extra else None,
                           hint=HINT_BIASES if biases == extra else None)


@pytest.mark.points(3)
@given(inputs=additive_inputs(dtypes=(torch.float64,)))
def test_matches_reference_float64(student, inputs):
    """Context and weights match the reference (float64)"""
    module = build(student, inputs, torch.float64)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float64, student, module)


@pytest.mark.points(1)
@given(inputs=additive_inputs(dtypes=(torch.float32,)))
def test_matches_reference_float32(student, inputs):
    """Context and weights match the reference (float32)"""
    module = build(student, inputs, torch.float32)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float32, student, module)


@pytest.mark.points(2)
@given(inputs=additive_inputs(masks=("padding",)))
def test_padding_mask(student, inputs):
    """Padding mask: True marks a real position; padding gets weight 0"""
    module = build(student, inputs, torch.float64)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float64, student, module)


@pytest.mark.points(1)
@given(inputs=additive_inputs(masks=("empty_rows",)), grad_seed=st.integers(0, 1000))
def test_fully_masked_rows(student, inputs, grad_seed):
    """A row with no real position: zero weights, zero context, no NaN, finite gradients

    This check owns the empty row: the gradient check draws none, so one mistake there costs
    this point only.
    """
    check_gradients(student, inputs, grad_seed)


@pytest.mark.points(2)
@given(inputs=additive_inputs(masks=("none", "padding")), grad_seed=st.integers(0, 1000))
def test_gradients(student, inputs, grad_seed):
    """Gradients of inputs and parameters match the reference

    A row with no real position is test_fully_masked_rows' to judge, gradients included.
    """
    check_gradients(student, inputs, grad_seed)


@pytest.mark.points(1)
@settings(max_examples=15)
@given(inputs=additive_inputs(dtypes=(torch.float32,), masks=("none", "padding"), score_scales=(40.0, 80.0),
                              min_length=2))
def test_large_scores(student, inputs):
    """Realistic score magnitudes: scores near 100 (float32) stay exact

    exp overflows float32 at 88: the softmax over the positions needs each row's max subtracted.
    """
    module = build(student, inputs, torch.float32)
    compare_pair(forward(module, *inputs.tensors()).value, inputs, torch.float32, student, module)


@pytest.mark.points(1)
def test_deterministic(student):
    """Deterministic: two identical calls give the same context and weights (no dropout)

    Fixed inputs of 3 rows of 8 positions: dropout of any rate changes some weight of 24 with
    near certainty, so the verdict does not depend on luck.
    """
    for kind in ("none", "padding"):
        inputs = AdditiveInputs(batch=3, length=8, query_dim=3, key_dim=4, value_dim=2, hidden_dim=5,
                                mask_kind=kind, seed=5)
        module = build(student, inputs, torch.float64)
        exact, _ = oracle(inputs, torch.float64)
        first, second = (kit.expect_tensors(forward(module, *inputs.tensors()).value, exact, names=NAMES,
                                            what=f"{CLASS}.forward") for _ in range(2))
        kit.steps.expect_same_twice(first, second, NAMES)


def check_gradients(student, inputs: AdditiveInputs, grad_seed: int) -> None:
    """Values first (a wrong output explains a wrong gradient), then the gradients of the inputs and the
    parameters against the reference (float64)."""
    module = build(student, inputs, torch.float64)
    q, k, v, mask = inputs.tensors()
    d_context = randn((inputs.batch, inputs.value_dim), seed=grad_seed)
    reply = forward(module, q, k, v, mask, grad=Grad(wrt=(0, 1, 2), grad_outputs=(d_context, None), params=True))
    compare_pair(reply.value, inputs, torch.float64, student, module)
    kit.require_graph(reply, output="context")
    leaves = {n: t.clone().requires_grad_(True) for n, t in zip(INPUTS, (q, k, v))}
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).double()
    model.load_state_dict(inputs.state_dict(torch.float64))
    context, _ = model(*leaves.values(), mask)
    kit.backward(context, d_context)
    expected = {n: p.grad for n, p in model.named_parameters()}  # the parameters first, then the inputs
    expected.update({n: t.grad for n, t in leaves.items()})
    kit.check_gradients(reply, expected, inputs=INPUTS)
