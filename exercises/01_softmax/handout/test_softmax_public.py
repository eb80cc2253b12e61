"""Public checks of 01_softmax, as the student handout ships them (`grade handout`).

The oracle is PyTorch's own torch.softmax in float64, with the contract's rule for a
fully masked slice (all zeros), never the course's reference solution.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from grader import kit
from grader.kit.strategies import softmax_inputs

HINT = "Subtract each slice's max before exp, then divide by the sum along dim."


def masked_oracle(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """torch.softmax over the allowed entries; a slice with none allowed is all zeros."""
    mask = torch.broadcast_to(mask, x.shape)
    weights = torch.softmax(x.masked_fill(~mask, float("-inf")), dim=dim)
    return torch.where(mask.any(dim=dim, keepdim=True), weights, torch.zeros_like(weights)).nan_to_num(0.0)


@pytest.mark.points(2)
@given(inputs=softmax_inputs(dtypes=(torch.float64, torch.float32), values=("normal", "moderate")))
def test_softmax_matches_torch(student, inputs):
    """softmax matches torch.softmax along any dim (float64 and float32)"""
    x, _ = inputs.tensors()
    exact, same = torch.softmax(x.double(), inputs.dim), torch.softmax(x, inputs.dim)
    got = kit.expect_tensor(student.call("softmax", x, inputs.dim), name="softmax's output", like=x)
    kit.assert_close(got, oracle=exact, ref=same, name="softmax's output", hint=HINT)


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=(torch.float32,), values=("large",)))
def test_softmax_large_inputs(student, inputs):
    """softmax stays finite and right for |x| up to 1e4"""
    x, _ = inputs.tensors()
    exact, same = torch.softmax(x.double(), inputs.dim), torch.softmax(x, inputs.dim)
    got = kit.expect_tensor(student.call("softmax", x, inputs.dim), name="softmax's output", like=x)
    kit.assert_close(got, oracle=exact, ref=same, name="softmax's output", hint=HINT)


@pytest.mark.points(2)
@given(inputs=softmax_inputs(masks=("full", "broadcast"), dtypes=(torch.float64, torch.float32)))
def test_masked_softmax_matches_torch(student, inputs):
    """masked_softmax: masked entries get 0, the rest match torch.softmax"""
    x, mask = inputs.tensors()
    exact, same = masked_oracle(x.double(), mask, inputs.dim), masked_oracle(x, mask, inputs.dim)
    got = kit.expect_tensor(student.call("masked_softmax", x, mask, inputs.dim), name="masked_softmax's output",
                            like=x)
    kit.assert_close(got, oracle=exact, ref=same, name="masked_softmax's output",
                     hint="Fill masked scores with -inf before the softmax (mask True = keep).")


@pytest.mark.points(1)
@given(inputs=softmax_inputs(masks=("fully_masked",)))
def test_masked_softmax_fully_masked_slices_are_zero(student, inputs):
    """masked_softmax: a fully masked slice is all zeros, never NaN"""
    x, mask = inputs.tensors()
    exact = masked_oracle(x, mask, inputs.dim)
    got = kit.expect_tensor(student.call("masked_softmax", x, mask, inputs.dim), name="masked_softmax's output",
                            like=x)
    kit.assert_close(got, oracle=exact, ref=exact, name="masked_softmax's output",
                     hint="After the softmax, set slices with no allowed entry to 0 (torch.where on mask.any(dim)).")
