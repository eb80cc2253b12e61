"""The grading plugin's one cleaning of Hypothesis's falsifying example, which every output shows as is."""

from __future__ import annotations

from grader.run import plugin


def _failure_with_notes(*notes: str) -> AssertionError:
    error = AssertionError("wrong")
    for note in notes:
        error.add_note(note)
    return error


def test_the_example_loses_the_student_fixture_and_hypothesis_advice():
    error = _failure_with_notes(
        "Falsifying example: test_causal_mask(\n    student=student,\n    inputs=MHAInputs(B=2, seed=0),\n)",
        "Explanation:\n    These lines were always and only run by failing examples:\n        grader/kit/compare.py:137",
        "You can reproduce this example by temporarily adding @reproduce_failure(...)",
    )
    assert plugin._example(error) == "Falsifying example: test_causal_mask(\n    inputs=MHAInputs(B=2, seed=0),\n)"


def test_no_notes_no_example():
    assert plugin._example(AssertionError("plain")) is None
