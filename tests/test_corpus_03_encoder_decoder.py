"""The 03_encoder_decoder corpus (AdditiveAttention and the Seq2Seq model): correct variants get
full marks, buggy ones lose the right points with the right diagnosis."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, assert_full_marks, assert_loses_the_right_points, assert_not_implemented, corpus, grade

EXERCISE = "03_encoder_decoder"


@pytest.mark.parametrize("entry", corpus(EXERCISE, "correct"), ids=lambda e: e.id)
def test_correct_variant_gets_full_marks(entry):
    assert_full_marks(grade(EXERCISE, entry.path))


@pytest.mark.parametrize("entry", corpus(EXERCISE, "buggy"), ids=lambda e: e.id)
def test_buggy_variant_loses_the_right_points(entry):
    assert_loses_the_right_points(entry, grade(EXERCISE, entry.path))


def test_reference_gets_full_marks_and_stub_zero():
    result = grade(EXERCISE, ROOT / "reference" / "encoder_decoder.py")
    assert_full_marks(result)
    assert_not_implemented(grade(EXERCISE))
    # The learning check shows what happened: the loss curve (one value per step), falling.
    learned = next(c for c in result.checks if c.check_id == "test_learns_to_reverse")
    (curve,) = learned.curves
    assert len(curve.values) == 80 and curve.values[-1] < curve.values[0] / 10
    accuracy = float(re.search(r"predicted ([\d.]+)%", learned.summary).group(1))
    assert accuracy >= 90
