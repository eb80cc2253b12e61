"""Checks for 03_encoder_decoder, part 1: AdditiveAttention. Run by `grade exercises/03_encoder_decoder`.

The sequence-to-sequence model built on it is checked in test_seq2seq.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader import compare, diagnose, errors
from grader.proxy import Grad
from grader.strategies import dims, randn, seeds
from reference import encoder_decoder as ref
from reference.mistakes import additive as mistakes

CLASS = "AdditiveAttention"
NAMES = ("context", "weights")
HINT = "Work through the formula in the README on a batch of one with L=3, printing each stage's shape."


@dataclass(frozen=True)
class AdditiveInputs:
    """One additive-attention problem: sizes, a seed, and whether (and how) to mask."""

    batch: int
    length: int
    query_dim: int
    key_dim: int
    value_dim: int
    hidden_dim: int
    mask_kind: str  # "none", "padding" (>= 1 real position per row), "empty_rows"
    seed: int
    dtype: torch.dtype = torch.float64

    def tensors(self, dtype: torch.dtype | None = None):
        dtype = dtype or self.dtype
        query = randn((self.batch, self.query_dim), seed=self.seed, dtype=dtype)
        keys = randn((self.batch, self.length, self.key_dim), seed=self.seed + 1, dtype=dtype)
        values = randn((self.batch, self.length, self.value_dim), seed=self.seed + 2, dtype=dtype)
        mask = None
        if self.mask_kind != "none":
            g = torch.Generator().manual_seed(self.seed + 3)
            lengths = torch.randint(1, self.length + 1, (self.batch,), generator=g)
            mask = torch.arange(self.length)[None, :] < lengths[:, None]   # (B, L)
            if self.mask_kind == "empty_rows":
                mask[0] = False                                               # a row with no real position
        return query, keys, values, mask

    def state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        dtype = dtype or self.dtype
        return {
            "query_proj.weight": randn((self.hidden_dim, self.query_dim), seed=self.seed + 10, dtype=dtype,
                                       scale=self.query_dim ** -0.5),
            "key_proj.weight": randn((self.hidden_dim, self.key_dim), seed=self.seed + 11, dtype=dtype,
                                     scale=self.key_dim ** -0.5),
            "score.weight": randn((1, self.hidden_dim), seed=self.seed + 12, dtype=dtype,
                                  scale=2 * self.hidden_dim ** -0.5),
        }

    def __repr__(self) -> str:
        return (f"AdditiveInputs(B={self.batch}, L={self.length}, Dq={self.query_dim}, Dk={self.key_dim}, "
                f"Dv={self.value_dim}, hidden={self.hidden_dim}, mask={self.mask_kind!r}, "
                f"dtype={str(self.dtype).replace('torch.', '')}, seed={self.seed})")


@st.composite
def additive_inputs(draw, *, dtypes=(torch.float64,), masks=("none",)) -> AdditiveInputs:
    return AdditiveInputs(
        batch=draw(dims(min_value=2, max_value=4)), length=draw(dims(min_value=1, max_value=6)),
        query_dim=draw(dims(max_value=5)), key_dim=draw(dims(max_value=5)), value_dim=draw(dims(max_value=5)),
        hidden_dim=draw(dims(min_value=2, max_value=6)), mask_kind=draw(st.sampled_from(masks)),
        seed=draw(seeds()), dtype=draw(st.sampled_from(dtypes)))


def build(student, inputs: AdditiveInputs, dtype: torch.dtype):
    module = student.new(CLASS, inputs.query_dim, inputs.key_dim, inputs.hidden_dim)
    if dtype != torch.float32:
        module.to_dtype(dtype)
    module.load_state_dict(inputs.state_dict(dtype))
    return module


def forward(module, query, keys, values, mask, **options):
    kwargs = {} if mask is None else {"mask": mask}
    return module.run(query, keys, values, **kwargs, **options)


def reference(inputs: AdditiveInputs, dtype: torch.dtype):
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).to(dtype)
    model.load_state_dict(inputs.state_dict(dtype))
    with torch.no_grad():
        return model(*inputs.tensors(dtype))


def compare_pair(got, inputs: AdditiveInputs, dtype: torch.dtype) -> None:
    exact, same = reference(inputs, torch.float64), reference(inputs, dtype)
    got = compare.expect_tuple(got, NAMES, what=f"{CLASS}.forward")
    for value, like, name in zip(got, same, NAMES):
        compare.expect_tensor(value, name=name, like=like)
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
            raise errors.CheckFailure(f"AdditiveAttention(3, 5, 7) needs a torch.nn.Linear named {name!r}.",
                                      details=f"Submodules found: {sorted(module.children) or 'none'}.")
        if (child.get("in_features"), child.get("out_features")) != (fan_in, fan_out) or child.get("bias"):
            raise errors.CheckFailure(
                f"{name} should be Linear({fan_in}, {fan_out}, bias=False), got Linear("
                f"{child.get('in_features')}, {child.get('out_features')}, bias={child.get('bias')}).")
    extra = sorted(set(module.parameters) - {f"{n}.weight" for n in expected})
    if extra:
        raise errors.CheckFailure(f"AdditiveAttention has parameters beyond the three projections: {extra}.")


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
    if not reply.has_graph:
        raise errors.CheckFailure("No gradient reaches the context: it does not require grad.",
                                  hint="Do not call .detach(), .numpy() or torch.no_grad() in forward.")
    leaves = {"query": q, "keys": k, "values": v}
    leaves = {n: t.clone().requires_grad_(True) for n, t in leaves.items()}
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).double()
    model.load_state_dict(inputs.state_dict(torch.float64))
    context, _ = model(leaves["query"], leaves["keys"], leaves["values"], mask)
    context.backward(d_context)
    expected = {n: t.grad for n, t in leaves.items()}
    expected.update({n: p.grad for n, p in model.named_parameters()})
    for index, name in enumerate(("query", "keys", "values")):
        expected[index] = expected.pop(name)
    for key, exact in expected.items():
        got = reply.input_grads.get(key) if isinstance(key, int) else reply.param_grads.get(key)
        label = f"gradient of {('query', 'keys', 'values')[key] if isinstance(key, int) else key}"
        if got is None:
            raise errors.CheckFailure(f"No {label}: it is not used in a differentiable way.")
        compare.expect_tensor(got, name=label, like=exact)
        compare.assert_close(got, oracle=exact, ref=exact, name=label, kind="grad")
