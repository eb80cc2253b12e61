"""The grading plugin: its one cleaning of Hypothesis's falsifying example (which every output shows as is), the
banned calls it names, and the diagnosis of the whole submission it gives each failed check."""

from __future__ import annotations

import dataclasses

import torch

from grader import errors, results
from grader.kit import diagnose
from grader.run import plugin
from attention_reference.mistakes import Mistake


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


def test_the_banned_call_named_is_the_one_the_source_makes():
    """F.softmax runs Tensor.softmax inside: the student wrote F.softmax, and is told so."""
    ran = {"Tensor.softmax", "torch.nn.functional.softmax"}
    assert plugin.banned_names(("torch.nn.functional.softmax",), ran) == ["torch.nn.functional.softmax"]
    assert plugin.banned_names((), {"Tensor.softmax"}) == ["Tensor.softmax"]  # built at run time: what ran


def test_a_banned_module_that_is_not_installed_is_the_ban_not_an_import_error():
    error = errors.SubmissionLoadError("solution.py could not be imported (line 4): ModuleNotFoundError: No module "
                                       "named 'scipy'")
    assert plugin._banned_module_missing(error, ("scipy.special.softmax",)) == ["scipy.special.softmax"]
    assert plugin._banned_module_missing(error, ()) == []
    other = errors.SubmissionLoadError("solution.py could not be imported: ModuleNotFoundError: No module named 'foo'")
    assert plugin._banned_module_missing(other, ("scipy.special.softmax",)) == []


# -- the diagnosis of the whole submission ------------------------------------------------

SCALE = Mistake("no_scale", "Not scaled: divide by sqrt(d).", {"scale": 0.5})
SHIFT = Mistake("shifted", "Shifted by one: no.", {"shift": 1.0})
BANK = (SCALE, SHIFT)


def _compute(x):
    return lambda switches: (x * switches.get("scale", 1.0) + switches.get("shift", 0.0),)


def _observed(x, got, check):
    found = diagnose.Findings()
    obs = diagnose.Observation(got=(got,), compute=_compute(x), allowed=(torch.tensor(1e-9),),
                               wrong=not torch.allclose(got, x), bank=BANK, check=check)
    found.observations.append(obs)
    return found


def _failed(check_id):
    return results.CheckResult(check_id=check_id, title=check_id, points=0.0, max_points=1.0, status=results.FAILED,
                               kind=results.KIND_WRONG, summary="Wrong values.")


def _passed(check_id):
    return results.CheckResult(check_id=check_id, title=check_id, points=1.0, max_points=1.0, status=results.PASSED)


def test_one_mistake_that_explains_every_answer_names_every_failure():
    x = torch.tensor([1.0, 2.0])
    checks = [_failed("a"), _failed("b"), _passed("c")]
    named = plugin.diagnose_all(checks, {"a": _observed(x, x * 0.5, "a"), "b": _observed(2 * x, x, "b"),
                                         "c": _observed(torch.zeros(2), torch.zeros(2), "c")})
    assert [c.diagnosis for c in named] == [SCALE.message, SCALE.message, None]
    assert named[0].mistakes == ("no_scale",) and named[0].hint == "Divide by sqrt(d)."


def test_two_mistakes_together_are_named_together():
    x = torch.tensor([1.0, 2.0])
    named = plugin.diagnose_all([_failed("a")], {"a": _observed(x, x * 0.5 + 1.0, "a")})
    assert named[0].mistakes == ("no_scale", "shifted")
    assert SCALE.message in named[0].diagnosis and SHIFT.message in named[0].diagnosis


def test_a_mistake_a_passed_check_rules_out_is_never_named():
    """The wrong answer at x = 0 (1) is the shift's; the check that passed answered x = 5 right, which neither
    the shift (6) nor shift and scale together (3.5) would: no name, rather than a wrong one."""
    zero, five = torch.zeros(2), torch.full((2,), 5.0)
    alone = plugin.diagnose_all([_failed("a")], {"a": _observed(zero, zero + 1.0, "a")})
    assert alone[0].mistakes == ("shifted",)
    named = plugin.diagnose_all([_failed("a"), _passed("b")], {"a": _observed(zero, zero + 1.0, "a"),
                                                               "b": _observed(five, five, "b")})
    assert named[0].diagnosis is None and named[0].mistakes == ()


def test_randomness_is_named_instead_of_any_mistake():
    x = torch.tensor([1.0, 2.0])
    random = _observed(x, x * 0.5, "a")
    random.nondeterministic = True
    named = plugin.diagnose_all([_failed("a")], {"a": random})
    assert named[0].diagnosis == diagnose.MSG_NONDETERMINISTIC and named[0].mistakes == ("nondeterministic",)


def test_with_randomness_a_mistake_is_named_only_where_the_example_answered_twice_alike():
    """Dropout keeps a NaN row a NaN: a check whose example answered the same twice names its mistake beside
    the randomness; one whose answer changed (above) names the randomness alone."""
    x = torch.tensor([1.0, 2.0])
    steady = _observed(x, x * 0.5, "a")
    steady.observations[0].steady = True
    other = _observed(x, x * 0.25, "b")
    other.nondeterministic = True
    named = plugin.diagnose_all([_failed("a"), _failed("b")], {"a": steady, "b": other})
    assert named[0].mistakes == ("nondeterministic", "no_scale")
    assert diagnose.MSG_NONDETERMINISTIC in named[0].diagnosis and SCALE.message in named[0].diagnosis
    assert named[1].diagnosis == diagnose.MSG_NONDETERMINISTIC


def test_with_randomness_the_answer_given_with_dropout_held_off_names_the_mistake_behind_it():
    """The answer that changed is set aside; the calm one (the same twice, dropout off) is diagnosed, beside the
    randomness, on the check that recorded it."""
    x = torch.tensor([1.0, 2.0])
    random = _observed(x, torch.tensor([7.0, -3.0]), "a")           # what dropout made of it: nothing matches
    random.nondeterministic = True
    calm = _observed(x, x * 0.5, "a").observations[0]
    calm.calm = True
    random.observations.append(calm)
    named = plugin.diagnose_all([_failed("a"), _failed("b")], {"a": random, "b": _observed(x, x * 0.25, "b")})
    assert named[0].mistakes == ("nondeterministic", "no_scale")
    assert named[0].diagnosis == diagnose.MSG_RANDOM_AND.format(first=diagnose.MSG_NONDETERMINISTIC,
                                                                second=SCALE.message)
    assert named[1].diagnosis == diagnose.MSG_NONDETERMINISTIC   # its answer is not trusted: randomness alone


def test_an_error_keeps_its_own_name_and_the_answers_elsewhere_are_said_beside_it():
    x = torch.tensor([1.0, 2.0])
    error = dataclasses.replace(_failed("a"), kind=results.KIND_STUDENT_ERROR, diagnosis="Your mask line breaks.")
    plain = dataclasses.replace(_failed("b"), kind=results.KIND_STUDENT_ERROR)
    named = plugin.diagnose_all([error, plain], {"a": _observed(x, x * 0.5, "a"), "b": _observed(x, x * 0.5, "b")})
    assert named[0].diagnosis == diagnose.MSG_ERROR_AND.format(error="Your mask line breaks.", text=SCALE.message)
    assert named[1].diagnosis == diagnose.MSG_ELSEWHERE.format(text=SCALE.message)
