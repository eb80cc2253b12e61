"""The error-budget tolerance and the mismatch description."""

from __future__ import annotations

import pytest
import torch

from grader import errors, results
from grader.kit import compare


def _softmax_pair(dtype):
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    return torch.softmax(x, -1), torch.softmax(x.to(dtype), -1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_a_correct_result_in_any_dtype_passes(dtype):
    exact, same = _softmax_pair(dtype)
    # Another correct implementation: computed differently, in the same dtype.
    x = torch.log(exact).to(dtype)
    other = torch.exp(x - torch.logsumexp(x, -1, keepdim=True))
    compare.assert_close(other, oracle=exact, ref=same, name="weights")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_a_small_real_mistake_fails_in_every_dtype(dtype):
    exact, same = _softmax_pair(dtype)
    wrong = (exact * 1.05).to(dtype)  # 5% off: a real mistake, far above the budget
    with pytest.raises(errors.CheckFailure):
        compare.assert_close(wrong, oracle=exact, ref=same, name="weights")


def test_all_zeros_never_passes():
    exact, same = _softmax_pair(torch.float32)
    with pytest.raises(errors.CheckFailure):
        compare.assert_close(torch.zeros_like(same), oracle=exact, ref=same, name="weights")


def test_the_failure_names_count_index_and_allowance():
    exact, same = _softmax_pair(torch.float32)
    wrong = same.clone()
    wrong[2, 5] += 0.25
    with pytest.raises(errors.CheckFailure) as info:
        compare.assert_close(wrong, oracle=exact, ref=same, name="weights")
    m = info.value.mismatch
    assert (m.mismatched, m.total) == (1, 32)
    assert m.max_abs_index == (2, 5)
    assert m.max_abs == pytest.approx(0.25, rel=1e-3)
    assert m.allowed_abs < 1e-3
    assert info.value.details == ""  # the mismatch travels as data; outputs format it (results.format_mismatch)
    text = results.format_mismatch(m)
    assert "Mismatched elements: 1 / 32 (3.1%)" in text
    assert "at index (2, 5)" in text and "allowed" in text
    assert m.expected is not None and m.got is not None  # small tensors are shown in full


def test_nan_where_a_number_is_expected_is_named():
    exact, same = _softmax_pair(torch.float64)
    wrong = same.clone()
    wrong[1] = float("nan")
    with pytest.raises(errors.CheckFailure) as info:
        compare.assert_close(wrong, oracle=exact, ref=same, name="weights")
    assert "NaN or inf" in info.value.summary and "(1, 0)" in info.value.summary


def test_nan_matching_nan_is_equal():
    expected = torch.tensor([float("nan"), 1.0], dtype=torch.float64)
    assert compare.matches(expected.clone(), expected, torch.tensor(1e-9))


def test_attribute_mismatches_come_before_values():
    like = torch.zeros(2, 3)
    with pytest.raises(errors.CheckFailure, match=r"shape \(3, 2\), expected \(2, 3\)"):
        compare.expect_tensor(torch.zeros(3, 2), name="output", like=like)
    with pytest.raises(errors.CheckFailure, match="dtype torch.float64, expected torch.float32"):
        compare.expect_tensor(torch.zeros(2, 3, dtype=torch.float64), name="output", like=like)
    with pytest.raises(errors.WrongType, match="should be a torch.Tensor, got None"):
        compare.expect_tensor(None, name="output", like=like)
