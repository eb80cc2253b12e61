"""The 01_softmax corpus: correct variants get full marks, buggy ones lose the right
points with the right diagnosis, bad input gets a message a student understands."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, corpus, grade
from reference.mistakes.softmax import MISTAKES

EXERCISE = "01_softmax"
REFERENCE = "softmax.py"


# The plain comparisons with the reference; every other check is a property.
PLAIN_CHECKS = ("test_softmax_matches_reference", "test_masked_softmax_matches_reference")


def _failed(result):
    return {c.check_id: c for c in result.checks if not c.passed}


def _passes(entry) -> tuple[str, ...]:
    """Checks a buggy entry must pass (its ``# passes:`` header): the property it fails is not redundant."""
    match = re.search(r"^# passes:(.*)$", entry.path.read_text(), re.MULTILINE)
    return tuple(match.group(1).split()) if match else ()


@pytest.mark.parametrize("entry", corpus(EXERCISE, "correct"), ids=lambda e: e.id)
def test_correct_variant_gets_full_marks(entry):
    result = grade(EXERCISE, entry.path)
    failed = _failed(result)
    assert not failed, {k: (c.summary, c.details) for k, c in failed.items()}
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("entry", corpus(EXERCISE, "buggy"), ids=lambda e: e.id)
def test_buggy_variant_loses_the_right_points(entry):
    result = grade(EXERCISE, entry.path)
    failed = _failed(result)
    assert entry.fails, "a buggy corpus entry must say which checks it fails"
    for check in entry.fails:
        assert check in failed, f"{check} should fail for {entry.id}; failed: {sorted(failed)}"
    assert result.score < result.max_score
    if entry.diagnosis:
        diagnoses = [c.diagnosis or "" for c in failed.values()]
        assert any(entry.diagnosis in d for d in diagnoses), (entry.diagnosis, diagnoses)
    for check in _passes(entry):
        assert check not in failed, f"{check} should pass for {entry.id}: {failed[check].summary}"


@pytest.mark.parametrize("entry", corpus(EXERCISE, "bad_input"), ids=lambda e: e.id)
def test_bad_input_gets_a_clear_message(entry):
    result = grade(EXERCISE, entry.path, call_seconds=2)
    assert result.score == 0 or _failed(result)
    summaries = [c.summary for c in result.checks if not c.passed]
    assert summaries, "a bad submission must fail checks"
    assert any(entry.message in s for s in summaries), (entry.message, summaries)
    # A failure is a message, never a grader bug.
    assert not [c for c in result.checks if c.kind == "internal"]


def test_reference_gets_full_marks():
    result = grade(EXERCISE, ROOT / "reference" / REFERENCE)
    assert result.score == result.max_score > 0, [(c.check_id, c.summary) for c in result.checks if not c.passed]


def test_stub_gets_zero_with_not_implemented_messages():
    result = grade(EXERCISE)
    assert result.score == 0
    assert all(c.kind == "not_implemented" for c in result.checks), [(c.check_id, c.kind, c.summary)
                                                                      for c in result.checks]
    assert all("Not implemented yet" in c.summary or "NotImplementedError" in c.summary for c in result.checks)


def test_grading_is_deterministic():
    entry = next(e for e in corpus(EXERCISE, "buggy") if e.path.stem == "mask_after_softmax_renormalised")
    first, second = grade(EXERCISE, entry.path), grade(EXERCISE, entry.path)
    assert [(c.check_id, c.points, c.summary, c.example) for c in first.checks] == \
           [(c.check_id, c.points, c.summary, c.example) for c in second.checks]


def test_every_property_check_catches_something_the_plain_comparison_misses():
    """Mutation-style: each check beyond the plain comparisons fails for some buggy entry that passes them."""
    result = grade(EXERCISE, ROOT / "reference" / REFERENCE)
    properties = {c.check_id for c in result.checks} - set(PLAIN_CHECKS)
    shown = set()
    for entry in corpus(EXERCISE, "buggy"):
        if any(p in _passes(entry) for p in PLAIN_CHECKS):
            shown.update(c for c in entry.fails if c not in PLAIN_CHECKS)
    assert properties <= shown, f"no corpus entry shows what these add: {sorted(properties - shown)}"


def test_every_diagnosis_is_shown_by_the_corpus():
    headers = [e.diagnosis for e in corpus(EXERCISE, "buggy") if e.diagnosis]
    for mistake in MISTAKES:
        assert any(h in mistake.message for h in headers), f"no buggy entry is diagnosed as {mistake.id}"
