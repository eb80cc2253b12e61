"""The known mistakes of additive attention (03) are far from right on the grader's inputs, and the richer
input the checks ask about on a failure tells them apart."""

from __future__ import annotations

import pytest
import torch

from grader.kit import compare, diagnose
from grader.kit.strategies import AdditiveInputs, rich_additive_inputs
from attention_reference import encoder_decoder as ref
from attention_reference.mistakes import additive as mistakes

KINDS = ("none", "padding", "empty_rows")
NEAR = {"computed_in_float32"}  # matched within float32's own budget, not this one


def _reference(inputs: AdditiveInputs, dtype=torch.float64):
    model = ref.AdditiveAttention(inputs.query_dim, inputs.key_dim, inputs.hidden_dim).to(dtype)
    model.load_state_dict(inputs.state_dict(dtype))
    with torch.no_grad():
        return model(*inputs.tensors(dtype))


def _run(mistake, inputs: AdditiveInputs, dtype=torch.float64):
    q, k, v, mask = inputs.tensors(dtype)
    return mistakes.run(mistake, q, k, v, inputs.state_dict(dtype), mask)


@pytest.mark.parametrize("mistake", [m for m in mistakes.MISTAKES if m.id not in NEAR], ids=lambda m: m.id)
def test_every_mistake_is_far_outside_the_tolerance_on_some_grader_input(mistake):
    """(A softmax without the max is far off only at large scores, in float32, as test_large_scores draws.)"""
    ratios = []
    for inputs, dtype in [(rich_additive_inputs(kind), torch.float64) for kind in KINDS] + \
                         [(rich_additive_inputs("padding", score_scale=200.0), torch.float32)]:
        exact, same = _reference(inputs), _reference(inputs, torch.float32)
        for g, e, s in zip(_run(mistake, inputs, dtype), exact, same):
            if g.shape != e.shape:  # the keys' width, not the values': never right
                ratios.append(float("inf"))
                continue
            diff = (g.double() - e).abs().nan_to_num(float("inf"))
            ratios.append(float((diff / compare.allowed_error(s, e)).max()))
    assert max(ratios) > 100, f"{mistake.id}: at most {max(ratios):.3g}x the tolerance"


@pytest.mark.parametrize("kind", KINDS)
def test_the_richer_input_tells_every_mistake_apart(kind):
    inputs = rich_additive_inputs(kind)
    exact = _reference(inputs)
    allowed = [compare.allowed_error(e, e) for e in exact]
    for mistake in mistakes.MISTAKES:
        if mistake.id in NEAR:
            continue
        got = _run(mistake, inputs)
        found = [m.id for m in diagnose.matching(got, mistakes.MISTAKES, lambda m: _run(m, inputs), allowed,
                                                 correct=exact) if m.id not in NEAR]
        assert found in ([], [mistake.id]), (kind, mistake.id, found)


def test_an_ignored_mask_and_uniform_empty_rows_differ_where_the_shrunk_example_cannot_tell():
    """On one position both give weight 1; on the richer input (lengths 3, 2 and 4, one row empty) they differ."""
    tiny = AdditiveInputs(batch=2, length=1, query_dim=1, key_dim=1, value_dim=1, hidden_dim=2,
                          mask_kind="empty_rows", seed=0)
    ignored, uniform = (next(m for m in mistakes.MISTAKES if m.id == name)
                        for name in ("mask_ignored", "uniform_fully_masked"))
    assert torch.equal(_run(ignored, tiny)[1], _run(uniform, tiny)[1])
    rich = rich_additive_inputs("empty_rows")
    assert not torch.allclose(_run(ignored, rich)[1], _run(uniform, rich)[1])
