"""The 02_multihead corpus: correct variants get full marks, buggy ones lose the right
points with the right diagnosis, bad input gets a message a student understands."""

from __future__ import annotations

import pytest

from conftest import (ROOT, assert_clear_message, assert_every_mistake_shown, assert_full_marks,
                      assert_loses_the_right_points, assert_not_implemented, assert_same_grading, corpus, grade,
                      shown_arguments)
from attention_reference.mistakes import multihead

EXERCISE = "02_multihead"
REFERENCE = "multihead.py"
DETERMINISM_ENTRY = "mask_after_softmax"


@pytest.mark.parametrize("entry", corpus(EXERCISE, "correct"), ids=lambda e: e.id)
def test_correct_variant_gets_full_marks(entry):
    assert_full_marks(grade(EXERCISE, entry.path))


@pytest.mark.parametrize("entry", corpus(EXERCISE, "buggy"), ids=lambda e: e.id)
def test_buggy_variant_loses_the_right_points(entry):
    assert_loses_the_right_points(entry, grade(EXERCISE, entry.path))


@pytest.mark.parametrize("entry", corpus(EXERCISE, "bad_input"), ids=lambda e: e.id)
def test_bad_input_gets_a_clear_message(entry):
    assert_clear_message(entry, grade(EXERCISE, entry.path, call_seconds=2))


def test_reference_gets_full_marks():
    assert_full_marks(grade(EXERCISE, ROOT / "attention_reference" / REFERENCE))


def test_stub_gets_zero_with_not_implemented_messages():
    assert_not_implemented(grade(EXERCISE))


@pytest.mark.parametrize("name", [DETERMINISM_ENTRY, "dropout_left_on"])
def test_grading_is_deterministic(name):
    """The same score and messages every time, for a submission with dropout left on too (every child starts
    from the same random state, and the determinism check's inputs leave nothing to luck)."""
    entry = next(e for e in corpus(EXERCISE, "buggy") if e.path.stem == name)
    assert_same_grading(grade(EXERCISE, entry.path), grade(EXERCISE, entry.path))


def test_every_diagnosis_is_shown_by_the_corpus():
    assert_every_mistake_shown(EXERCISE, multihead.MISTAKES)


def test_a_nan_fully_masked_row_is_paid_for_once():
    """NaN for a row with no allowed key costs test_fully_masked_rows' 2 points and nothing else (the gradient
    check draws no such row)."""
    result = grade(EXERCISE, ROOT / "tests" / "corpus" / EXERCISE / "buggy" / "nan_fully_masked.py")
    assert {c.check_id: c.max_points for c in result.checks if not c.passed} == {"test_fully_masked_rows": 2.0}


def test_a_hang_shows_the_example_that_hung():
    result = grade(EXERCISE, ROOT / "tests" / "corpus" / EXERCISE / "bad_input" / "hangs_on_long_keys.py",
                   call_seconds=2)
    hung = [c for c in result.checks if c.kind == "sandbox" and c.summary.startswith("Exceeded")]
    assert hung and all(c.example for c in hung)
    for check in hung:
        _, shown = shown_arguments(check.example)
        assert shown["inputs"].lk > 3, check.example
