"""The 01_softmax corpus: correct variants get full marks, buggy ones lose the right
points with the right diagnosis, bad input gets a message a student understands."""

from __future__ import annotations

import pytest

from conftest import (CORPUS, ROOT, assert_clear_message, assert_full_marks, assert_loses_the_right_points,
                      assert_not_implemented, assert_same_grading, corpus, grade, shown_arguments)
from attention_reference.mistakes.softmax import MISTAKES

EXERCISE = "01_softmax"
REFERENCE = "softmax.py"
DETERMINISM_ENTRY = "mask_after_softmax_renormalised"


# The plain comparisons with the reference; every other check is a property.
PLAIN_CHECKS = ("test_softmax_matches_reference", "test_masked_softmax_matches_reference")


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


def test_every_property_check_catches_something_the_plain_comparison_misses():
    """Mutation-style: each check beyond the plain comparisons fails for some buggy entry that passes them."""
    result = grade(EXERCISE, ROOT / "attention_reference" / REFERENCE)
    properties = {c.check_id for c in result.checks} - set(PLAIN_CHECKS)
    shown = set()
    for entry in corpus(EXERCISE, "buggy"):
        if any(p in entry.passes for p in PLAIN_CHECKS):
            shown.update(c for c in entry.fails if c not in PLAIN_CHECKS)
    assert properties <= shown, f"no corpus entry shows what these add: {sorted(properties - shown)}"


def test_every_diagnosis_is_shown_by_the_corpus():
    headers = [e.diagnosis for e in corpus(EXERCISE, "buggy") if e.diagnosis and e.diagnosis != "none"]
    for mistake in MISTAKES:
        assert any(h in mistake.message for h in headers), f"no buggy entry is diagnosed as {mistake.id}"


def test_a_hang_shows_the_example_that_hung():
    """A submission that hangs only on slices longer than 3: the example shown is one that hangs, and the
    later checks are not started (the time budget is spent), with no example, since none is at fault."""
    result = grade(EXERCISE, CORPUS / EXERCISE / "bad_input" / "hangs_on_long_slices.py", call_seconds=2)
    first = next(c for c in result.checks if c.check_id == "test_softmax_matches_reference")
    assert first.kind == "sandbox" and "time limit" in first.summary
    _, shown = shown_arguments(first.example)
    assert shown["inputs"].shape[shown["inputs"].dim] > 3, first.example
    not_run = [c for c in result.checks if c.summary.startswith("Not run")]
    assert not_run and all(c.example is None for c in not_run)


def test_a_textbook_softmax_pays_for_its_empty_slices_once():
    """The textbook max-subtract softmax gives NaN for an empty slice: that costs test_fully_masked_slices'
    2 points and nothing else (plain softmax's all -inf slice is advice, the gradient checks draw none)."""
    result = grade(EXERCISE, CORPUS / EXERCISE / "buggy" / "nan_empty.py")
    lost = {c.check_id: c.max_points for c in result.checks if not c.passed}
    assert lost == {"test_fully_masked_slices": 2.0}, lost
    neg_inf = next(c for c in result.checks if c.check_id == "test_softmax_neg_inf")
    assert neg_inf.passed and "leaves that case open" in (neg_inf.advice or "")
