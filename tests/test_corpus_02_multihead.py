"""The 02_multihead corpus: correct variants get full marks, buggy ones lose the right
points with the right diagnosis, bad input gets a message a student understands."""

from __future__ import annotations

import pytest

from conftest import (ROOT, assert_clear_message, assert_full_marks, assert_loses_the_right_points,
                      assert_not_implemented, assert_same_grading, corpus, grade)

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


def test_grading_is_deterministic():
    entry = next(e for e in corpus(EXERCISE, "buggy") if e.path.stem == DETERMINISM_ENTRY)
    assert_same_grading(grade(EXERCISE, entry.path), grade(EXERCISE, entry.path))
