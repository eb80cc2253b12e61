"""The 03_encoder_decoder corpus (AdditiveAttention and the Seq2Seq model): correct variants get
full marks, buggy ones lose the right points with the right diagnosis."""

from __future__ import annotations

import re

import pytest

from conftest import (ROOT, assert_every_mistake_shown, assert_full_marks, assert_loses_the_right_points,
                      assert_not_implemented, corpus, grade)
from attention_reference.mistakes import additive, seq2seq

EXERCISE = "03_encoder_decoder"


@pytest.mark.parametrize("entry", corpus(EXERCISE, "correct"), ids=lambda e: e.id)
def test_correct_variant_gets_full_marks(entry):
    assert_full_marks(grade(EXERCISE, entry.path))


@pytest.mark.parametrize("entry", corpus(EXERCISE, "buggy"), ids=lambda e: e.id)
def test_buggy_variant_loses_the_right_points(entry):
    assert_loses_the_right_points(entry, grade(EXERCISE, entry.path))


def test_reference_gets_full_marks_and_stub_zero():
    result = grade(EXERCISE, ROOT / "attention_reference" / "encoder_decoder.py")
    assert_full_marks(result)
    assert_not_implemented(grade(EXERCISE))
    # The learning check shows what happened: the loss curve (one value per step), falling.
    learned = next(c for c in result.checks if c.check_id == "test_learns_to_reverse")
    (curve,) = learned.curves
    assert len(curve.values) == 80 and curve.values[-1] < curve.values[0] / 10
    accuracy = float(re.search(r"predicted ([\d.]+)%", learned.summary).group(1))
    assert accuracy >= 90


def test_the_checks_adam_takes_torch_optim_adams_steps():
    # The learning check writes Adam out (torch.optim.Adam imports torch._dynamo): same steps.
    import torch

    from grader.kit import Adam

    g = torch.Generator().manual_seed(0)
    start = {"a": torch.randn(3, 4, generator=g, dtype=torch.float64), "b": torch.randn(5, generator=g,
                                                                                        dtype=torch.float64)}
    mine = {n: t.clone() for n, t in start.items()}
    theirs = {n: t.clone().requires_grad_(True) for n, t in start.items()}
    ours, torchs = Adam(mine, lr=0.02), torch.optim.Adam(theirs.values(), lr=0.02)
    for _ in range(20):
        grads = {n: torch.randn(t.shape, generator=g, dtype=torch.float64) for n, t in start.items()}
        for n, t in theirs.items():
            t.grad = grads[n].clone()
        ours.step(grads)
        torchs.step()
    for n in start:
        torch.testing.assert_close(mine[n], theirs[n].detach(), rtol=0, atol=1e-14)


def test_every_diagnosis_is_shown_by_the_corpus():
    assert_every_mistake_shown(EXERCISE, additive.MISTAKES, seq2seq.MISTAKES)


def test_an_empty_row_given_uniform_weights_is_paid_for_once_and_named_so():
    """Padding filled with -1e9: uniform weights for a row with no real position. Among the attention checks
    only test_fully_masked_rows fails (the gradient check draws no empty row), and it is named uniform
    weights, never an ignored mask: the padding check passed."""
    result = grade(EXERCISE, ROOT / "tests" / "corpus" / EXERCISE / "buggy" / "uniform_fully_masked.py")
    attention = [c for c in result.checks if c.kind != "missing_name"]           # the file has no Seq2Seq
    assert [c.check_id for c in attention if not c.passed] == ["test_fully_masked_rows"]
    (check,) = [c for c in attention if not c.passed]
    assert "uniform weights" in check.diagnosis and "ignored" not in check.diagnosis
