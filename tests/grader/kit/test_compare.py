"""The error-budget tolerance and the mismatch description."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- what is computed once, and the short way of a passing comparison ----------------------------------

def _remembered_pair():
    exact, same = _softmax_pair(torch.float32)
    compare.remember_budgets((exact, same))
    return exact, same


def test_a_remembered_pairs_budget_is_computed_once_and_equals_a_new_one(monkeypatch):
    exact, same = _remembered_pair()
    computed = []
    real = compare._compute_budget
    monkeypatch.setattr(compare, "_compute_budget", lambda *a: computed.append(1) or real(*a))
    first = compare.allowed_error(same, exact)
    for _ in range(3):
        assert torch.equal(compare.allowed_error(same, exact), first)
        compare.assert_close(same, oracle=exact, ref=same, name="weights")
    assert len(computed) == 1
    assert torch.equal(first, real(same, exact, "output"))
    compare.allowed_error(same, exact, budget="grad")
    compare.allowed_error(exact, exact)
    assert len(computed) == 3   # each budget and each oracle its own


def test_an_unshared_pair_is_computed_every_time(monkeypatch):
    exact, same = _softmax_pair(torch.float32)
    computed = []
    real = compare._compute_budget
    monkeypatch.setattr(compare, "_compute_budget", lambda *a: computed.append(1) or real(*a))
    compare.allowed_error(same, exact), compare.allowed_error(same, exact)
    assert len(computed) == 2


@pytest.mark.parametrize("defence", [True, False])
def test_an_oracle_changed_in_place_gets_its_budget_again(defence, monkeypatch):
    """The attack: the oracle (or the reference) changes in place after its budget was remembered. The
    budget must be that of the tensors as they are now; without the version check it is stale."""
    if not defence:
        monkeypatch.setattr(compare, "_still", lambda found, itself, oracle, versions: True)
    exact, same = _remembered_pair()
    compare.allowed_error(same, exact)
    exact.mul_(3.0)
    same.add_(1.0)
    assert torch.equal(compare.allowed_error(same, exact), compare._compute_budget(same, exact, "output")) is defence


@pytest.mark.parametrize("defence", [True, False])
def test_a_check_that_scales_its_budget_in_place_scales_its_own(defence, monkeypatch):
    if not defence:
        monkeypatch.setattr(compare, "_own", lambda allowed: allowed)
    exact, same = _remembered_pair()
    compare.allowed_error(same, exact).mul_(1e6)   # the attack: a budget of everything, for whoever is next
    assert torch.equal(compare.allowed_error(same, exact), compare._compute_budget(same, exact, "output")) is defence


SPECIALS = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-7, 3.5, float("inf"), float("-inf"), float("nan"), 1e300])


@st.composite
def comparisons(draw):
    """(got, oracle, allowed): numbers near each other, specials, allowed of the same shape, broadcast,
    or one number (zero and negative ones too)."""
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    n = int(torch.tensor(shape).prod()) if shape else 1
    oracle = torch.tensor(draw(st.lists(st.one_of(st.floats(-10, 10), SPECIALS), min_size=n, max_size=n)),
                          dtype=torch.float64).reshape(shape)
    noise = torch.tensor(draw(st.lists(st.one_of(st.floats(-1e-3, 1e-3), SPECIALS), min_size=n, max_size=n)),
                         dtype=torch.float64).reshape(shape)
    got = (oracle + noise).to(draw(st.sampled_from([torch.float64, torch.float32, torch.float16])))
    kind = draw(st.sampled_from(["same", "scalar", "broadcast"]))
    if kind == "same":
        allowed = torch.tensor(draw(st.lists(st.floats(0, 1e-2), min_size=n, max_size=n)),
                               dtype=torch.float64).reshape(shape)
    elif kind == "broadcast" and shape:
        allowed = torch.full(shape[-1:], draw(st.floats(-1e-3, 1e-2)), dtype=torch.float64)
    else:
        allowed = torch.tensor(draw(st.one_of(st.floats(-1e-3, 1e-2), SPECIALS)), dtype=torch.float64)
    return got, oracle, allowed


@settings(max_examples=400, deadline=None)
@given(case=comparisons())
def test_the_short_way_of_a_passing_comparison_decides_as_the_full_way(case):
    """Where every difference is plainly within what is allowed, mismatch says None at once; everywhere
    its answer is the full description's, and matches() is its answer being None."""
    got, oracle, allowed = case
    got64, oracle64 = got.to(torch.float64), oracle
    full = compare._describe(got, got64, oracle64, (got64 - oracle64).abs(), allowed, name="x")
    assert repr(compare.mismatch(got, oracle, allowed, name="x")) == repr(full)   # NaN reads as NaN
    assert compare.matches(got, oracle, allowed) is (full is None)


def test_the_short_way_is_taken_by_a_passing_comparison(monkeypatch):
    exact, same = _softmax_pair(torch.float32)
    described = []
    real = compare._describe
    monkeypatch.setattr(compare, "_describe", lambda *a, **k: described.append(1) or real(*a, **k))
    compare.assert_close(same, oracle=exact, ref=same, name="weights")
    assert not described
    with pytest.raises(errors.CheckFailure):
        compare.assert_close(same * 2, oracle=exact, ref=same, name="weights")
    assert described
