"""The known mistakes of 00_simple_attention and 01_softmax are far from right on the grader's
inputs (so a diagnosis is never a near miss), and none of them is right there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.kit import compare
from grader.kit.strategies import AttentionInputs, SoftmaxInputs
from attention_reference import simple_attention as ref_attention
from attention_reference import softmax as ref_softmax
from attention_reference.mistakes import simple_attention as attention_mistakes
from attention_reference.mistakes import softmax as softmax_mistakes

FAR = 10.0  # a mistake must be this many times the allowed error away from the right answer


def _ratio(got, exact, same) -> float:
    """Greatest |got - exact| / allowed, with NaN and inf counting as infinitely far."""
    got, exact = compare._as_tensor(got).to(torch.float64), compare._as_tensor(exact).to(torch.float64)
    if tuple(got.shape) != tuple(exact.shape):
        return float("inf")
    allowed = compare.allowed_error(same, exact)
    diff = (got - exact).abs()
    diff = torch.where(torch.isnan(got) & torch.isnan(exact), torch.zeros_like(diff), diff.nan_to_num(float("inf")))
    return float((diff / allowed).max())


# -- 01_softmax: inputs of the kinds the checks draw, at the sizes they use -----------

SOFTMAX_INPUTS = [
    SoftmaxInputs(shape=(3, 4, 5), dim=dim, values=values, mask_kind=mask, seed=11, dtype=dtype, huge_masked=huge,
                  neg_inf_masked=neg_inf)
    for dim in (1, -1)
    for values, mask, huge, neg_inf in (("normal", "none", False, False), ("large", "none", False, False),
                                        ("neg_inf", "none", False, False), ("normal", "full", False, False),
                                        ("normal", "fully_masked", False, False), ("normal", "full", True, False),
                                        ("normal", "broadcast", False, False), ("far", "full", False, True))
    for dtype in (torch.float32, torch.float64)
]
# Computing in float32 is a near miss by nature: it is matched within float32's own budget, not these. An epsilon
# added to the sum is small by nature too (1e-8 is 9x float64's budget): it is held to SMALL_FAR below.
FAR_MISTAKES = [m for m in softmax_mistakes.MISTAKES if not m.precision and not m.small]
SMALL_MISTAKES = [m for m in softmax_mistakes.MISTAKES if m.small]
SMALL_FAR = 5.0


def _softmax_case(inputs: SoftmaxInputs, mistake):
    x, mask = inputs.tensors()
    exact = ref_softmax.masked_softmax(x.double(), mask, inputs.dim) if mask is not None \
        else ref_softmax.softmax(x.double(), inputs.dim)
    same = ref_softmax.masked_softmax(x, mask, inputs.dim) if mask is not None else ref_softmax.softmax(x, inputs.dim)
    return softmax_mistakes.run(mistake, x, mask, inputs.dim), exact, same


@pytest.mark.parametrize("mistake", FAR_MISTAKES, ids=lambda m: m.id)
def test_every_softmax_mistake_is_far_outside_the_tolerance(mistake):
    ratios = []
    for inputs in SOFTMAX_INPUTS:
        try:
            got, exact, same = _softmax_case(inputs, mistake)
        except ValueError:  # a mask mistake without a mask
            continue
        ratios.append(_ratio(got, exact, same))
    assert max(ratios) > FAR, f"{mistake.id}: at most {max(ratios):.3g}x the tolerance"


@pytest.mark.parametrize("inputs", SOFTMAX_INPUTS, ids=repr)
def test_softmax_mistakes_are_either_right_or_far(inputs):
    """On each input, a mistake gives the right answer (then it is never diagnosed) or one far from it."""
    for mistake in FAR_MISTAKES:
        try:
            got, exact, same = _softmax_case(inputs, mistake)
        except ValueError:
            continue
        ratio = _ratio(got, exact, same)
        assert ratio <= 1 or ratio > FAR, (mistake.id, ratio)


@pytest.mark.parametrize("mistake", SMALL_MISTAKES, ids=lambda m: m.id)
def test_a_small_mistake_is_right_or_well_outside_the_tolerance(mistake):
    """An epsilon in the sum fails a float64 check (it is not a right answer by another name) and is never a
    near miss: on each input it is right, or at least SMALL_FAR times the allowed error away."""
    ratios = [_ratio(*_softmax_case(inputs, mistake)) for inputs in SOFTMAX_INPUTS]
    assert max(ratios) > SMALL_FAR, f"{mistake.id}: at most {max(ratios):.3g}x the tolerance"
    assert all(r <= 1 or r > SMALL_FAR for r in ratios), (mistake.id, sorted(ratios))


# -- 00_simple_attention -------------------------------------------------------------

ATTENTION_INPUTS = [
    AttentionInputs(batch=batch, lq=3, lk=lk, d=d, dv=2, scores=scores, seed=11, dtype=dtype)
    for batch, lk, d in (((), 4, 5), ((2,), 4, 5), ((3,), 3, 3), ((2, 3), 4, 2))
    for scores in ("normal", "spread")
    for dtype in ("float32", "float64")
]
SIMPLE_INPUTS = [
    AttentionInputs(batch=(), lq=1, lk=4, d=d, dv=dv, scores=scores, seed=11, dtype=dtype, simple=True)
    for d, dv in ((5, 2), (3, 3))
    for scores in ("normal", "large")
    for dtype in ("float32", "float64", "int64")
]


def _sdpa_ratio(inputs, mistake) -> float:
    q, k, v = inputs.arrays()
    exact = ref_attention.scaled_dot_product_attention(*(a.astype(np.float64) for a in (q, k, v)))
    same = ref_attention.scaled_dot_product_attention(q, k, v)
    try:
        got = attention_mistakes.run_sdpa(mistake, q, k, v)
    except ValueError:  # key.T on shapes that do not fit: the submission raises too
        return float("nan")
    return max(_ratio(g, e, s) for g, e, s in zip(got, exact, same))


def _simple_ratio(inputs, mistake) -> float:
    q, k, v = inputs.arrays()
    exact = ref_attention.simple_attention(*(a.astype(np.float64) for a in (q, k, v)))
    same = ref_attention.simple_attention(q, k, v)
    try:
        (got,) = attention_mistakes.run_simple(mistake, q, k, v)
    except ValueError:
        return float("nan")
    return _ratio(got, exact, same)


@pytest.mark.parametrize("mistake", [m for m in attention_mistakes.SDPA if not m.precision], ids=lambda m: m.id)
def test_every_sdpa_mistake_is_far_outside_the_tolerance(mistake):
    ratios = [r for r in (_sdpa_ratio(i, mistake) for i in ATTENTION_INPUTS) if r == r]
    assert ratios and max(ratios) > FAR, f"{mistake.id}: at most {max(ratios or [0]):.3g}x the tolerance"


@pytest.mark.parametrize("mistake", [m for m in attention_mistakes.SIMPLE if not m.precision], ids=lambda m: m.id)
def test_every_simple_attention_mistake_is_far_outside_the_tolerance(mistake):
    ratios = [r for r in (_simple_ratio(i, mistake) for i in SIMPLE_INPUTS) if r == r]
    assert ratios and max(ratios) > FAR, f"{mistake.id}: at most {max(ratios or [0]):.3g}x the tolerance"


@pytest.mark.parametrize("inputs", ATTENTION_INPUTS, ids=repr)
def test_sdpa_mistakes_are_either_right_or_far(inputs):
    for mistake in (m for m in attention_mistakes.SDPA if not m.precision):
        ratio = _sdpa_ratio(inputs, mistake)
        assert ratio != ratio or ratio <= 1 or ratio > FAR, (mistake.id, ratio)


@pytest.mark.parametrize("inputs", SIMPLE_INPUTS, ids=repr)
def test_simple_attention_mistakes_are_either_right_or_far(inputs):
    for mistake in (m for m in attention_mistakes.SIMPLE if not m.precision):
        ratio = _simple_ratio(inputs, mistake)
        assert ratio != ratio or ratio <= 1 or ratio > FAR, (mistake.id, ratio)


@pytest.mark.parametrize("d", range(2, 7))
def test_the_scale_mistakes_are_far_for_every_d_the_checks_draw(d):
    """d_k >= 2 in every bundle, where no scale and 1/d are both far from 1/sqrt(d)."""
    inputs = AttentionInputs(batch=(2,), lq=3, lk=4, d=d, dv=2, scores="normal", seed=11)
    for mistake in attention_mistakes.SDPA:
        if mistake.id in ("no_scale", "scale_by_d"):
            assert _sdpa_ratio(inputs, mistake) > FAR, (mistake.id, d)


def test_all_zeros_is_never_right():
    inputs = SoftmaxInputs(shape=(3, 4, 5), dim=1, values="normal", mask_kind="full", seed=11, dtype=torch.float32)
    x, mask = inputs.tensors()
    exact, same = ref_softmax.masked_softmax(x.double(), mask, 1), ref_softmax.masked_softmax(x, mask, 1)
    assert _ratio(torch.zeros_like(same), exact, same) > FAR
