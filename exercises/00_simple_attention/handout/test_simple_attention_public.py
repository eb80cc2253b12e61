"""Public checks of 00_simple_attention, as the student handout ships them (`grade handout`).

The oracle is PyTorch's own softmax and scaled_dot_product_attention in float64, never
the course's reference solution, so these checks can be handed out. They say what is
wrong and where; the full checks (the instructor's) also name the likely mistake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given

from grader import kit
from grader.kit.strategies import attention_inputs

SDPA = "scaled_dot_product_attention"
HINT = "Work through the formula in the README on its worked example, printing each stage's shape."


def _t(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


def simple_oracle(q, k, v) -> np.ndarray:
    return (torch.softmax(_t(k) @ _t(q), dim=-1) @ _t(v)).numpy()


def sdpa_oracle(q, k, v) -> tuple[np.ndarray, np.ndarray]:
    q, k, v = _t(q), _t(k), _t(v)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    return out.numpy(), weights.numpy()


def like(exact: np.ndarray, q) -> np.ndarray:
    """The shape and dtype the answer must have: the input's floating dtype, float64 for integers."""
    dtype = np.asarray(q).dtype
    return exact.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)


@pytest.mark.points(2)
@given(inputs=attention_inputs(simple=True, dtypes=("float64", "float32")))
def test_simple_attention_matches_pytorch(student, inputs):
    """simple_attention matches softmax(keys @ query) @ values"""
    q, k, v = inputs.arrays()
    exact = simple_oracle(q, k, v)
    got = kit.expect_array(student.call("simple_attention", q, k, v), name="simple_attention's output",
                           like=like(exact, q))
    kit.assert_close(got, oracle=exact, ref=like(exact, q), name="simple_attention's output", hint=HINT)


@pytest.mark.points(1)
@given(inputs=attention_inputs(simple=True, scores=("large",)))
def test_simple_attention_large_scores(student, inputs):
    """simple_attention stays finite and right for scores of order 1e4"""
    q, k, v = inputs.arrays()
    exact = simple_oracle(q, k, v)
    got = kit.expect_array(student.call("simple_attention", q, k, v), name="simple_attention's output", like=exact)
    kit.assert_close(got, oracle=exact, ref=exact, name="simple_attention's output",
                     hint="Subtract the largest score before np.exp.")


@pytest.mark.points(1)
def test_simple_attention_integer_input(student):
    """simple_attention accepts integer arrays and returns float64"""
    q, k, v = np.array([1, 0, 1]), np.array([[1, 0, 1], [0, 1, 0]]), np.array([[1, 2], [3, 4]])
    exact = simple_oracle(q, k, v)
    got = kit.expect_array(student.call("simple_attention", q, k, v), name="simple_attention's output", like=exact)
    kit.assert_close(got, oracle=exact, ref=exact, name="simple_attention's output",
                     hint="Convert integer input with astype(np.float64) first.")


@pytest.mark.points(3)
@given(inputs=attention_inputs(dtypes=("float64", "float32")))
def test_sdpa_matches_pytorch(student, inputs):
    """scaled_dot_product_attention matches PyTorch's, with any batch dimensions"""
    q, k, v = inputs.arrays()
    exact = sdpa_oracle(q, k, v)
    got = kit.expect_tuple(student.call(SDPA, q, k, v), ("output", "weights"), what=SDPA)
    for value, right, name in zip(got, exact, ("output", "weights")):
        value = kit.expect_array(value, name=name, like=like(right, q))
        kit.assert_close(value, oracle=right, ref=like(right, q), name=name, hint=HINT)
