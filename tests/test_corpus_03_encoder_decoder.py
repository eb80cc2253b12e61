"""The 03_encoder_decoder corpus (AdditiveAttention): correct variants get full marks,
buggy ones lose the right points with the right diagnosis."""

from __future__ import annotations

import pytest

from conftest import ROOT, corpus, grade

EXERCISE = "03_encoder_decoder"


@pytest.mark.parametrize("entry", corpus(EXERCISE, "correct"), ids=lambda e: e.id)
def test_correct_variant_gets_full_marks(entry):
    result = grade(EXERCISE, entry.path)
    assert result.score == result.max_score > 0, [(c.check_id, c.summary) for c in result.checks if not c.passed]


@pytest.mark.parametrize("entry", corpus(EXERCISE, "buggy"), ids=lambda e: e.id)
def test_buggy_variant_loses_the_right_points(entry):
    result = grade(EXERCISE, entry.path)
    failed = {c.check_id: c for c in result.checks if not c.passed}
    for check in entry.fails:
        assert check in failed, f"{check} should fail for {entry.id}; failed: {sorted(failed)}"
    if entry.diagnosis:
        assert any(entry.diagnosis in (c.diagnosis or "") for c in failed.values()), \
            [c.diagnosis for c in failed.values()]


def test_reference_gets_full_marks_and_stub_zero():
    result = grade(EXERCISE, ROOT / "reference" / "encoder_decoder.py")
    assert result.score == result.max_score > 0
    stub = grade(EXERCISE)
    assert stub.score == 0 and all(c.kind == "not_implemented" for c in stub.checks)
