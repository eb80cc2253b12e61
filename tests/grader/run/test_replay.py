"""Replaying the examples that pass (grader.run.replay): the same grade as grading alone, faster.

Alone means in a process that has recorded nothing (``replay.forget()``); replayed means after
the reference passed every check in this process, so each later submission's checks start
from the recorded examples.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.internal.conjecture import engine

from conftest import CORPUS, EXERCISES, grade
from grader.kit import strategies
from grader.run import replay, replay_store, session
from grader.spec import load_exercise
from grader.sandbox.proxy import SubmissionRunner

REFERENCE = EXERCISES.parent / "attention_reference" / "softmax.py"

# Right for the first calls, and on small inputs; it prints how many calls it has answered, so
# the output (which the report shows) tells how many requests its process ran.
COUNTING = '''
import torch
calls = 0

def _softmax(x, dim):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)

def softmax(x, dim=-1):
    global calls
    calls += 1
    print("call", calls)
    if x.numel() > 6:
        return _softmax(x, dim) * 1.5
    return _softmax(x, dim)

def masked_softmax(x, mask, dim=-1):
    return softmax(x.masked_fill(~mask, float("-inf")), dim).nan_to_num(0.0)
'''


def count_engine_runs(monkeypatch) -> list:
    """A list that gets an item each time Hypothesis's engine runs (a check under Hypothesis)."""
    runs = []
    real = engine.ConjectureRunner.run
    monkeypatch.setattr(engine.ConjectureRunner, "run", lambda self: runs.append(1) or real(self))
    return runs


@pytest.fixture(autouse=True)
def _nothing_saved(monkeypatch):
    """Records in this process's memory only, unless a test gives them a folder."""
    monkeypatch.setenv(replay_store.ENV, "off")


def comparable(result) -> str:
    """Everything a grade says, less the clock (as JSON: NaN reads the same as NaN)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("duration", "started_at")}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value
    return json.dumps(strip(result.to_dict()), sort_keys=True)


def alone(submission):
    """Graded in a process that has recorded nothing (the records made so far are kept aside)."""
    kept = dict(replay._records)
    replay.forget()
    try:
        return grade("01_softmax", submission)
    finally:
        replay.forget()
        replay._records.update(kept)


@pytest.fixture
def recorded():
    """The reference graded first: every check of 01 recorded."""
    replay.forget()
    reference = grade("01_softmax", REFERENCE)
    assert reference.score == reference.max_score and replay._records
    yield
    replay.forget()


ENTRIES = ("correct/logsumexp_shifted.py", "buggy/no_max.py", "buggy/fixed_dim_1.py", "bad_input/syntax_error.py",
           "bad_input/hangs_on_long_slices.py")


def test_a_replayed_grade_is_the_grade_alone(recorded):
    """Right, wrong (failing late, failing early), not loading, hanging: every field the same."""
    for entry in ENTRIES:
        path = CORPUS / "01_softmax" / entry
        assert comparable(grade("01_softmax", path)) == comparable(alone(path)), entry


def test_the_tape_keeps_the_childs_history_that_of_grading_alone(recorded, tmp_path, monkeypatch):
    """A replay that fails hands its requests to the real run: answered from its tape, not run again.
    Without the tape the child answers them twice, and its output (its call count) shows it.
    (Failing runs are not kept here: a kept one would be replayed to its end, with no real run.)"""
    monkeypatch.setattr(replay, "keep_failure", lambda key, trace, save=True: None)
    path = tmp_path / "solution.py"
    path.write_text(COUNTING)
    by_itself = comparable(alone(path))
    assert comparable(grade("01_softmax", path)) == by_itself

    serve = SubmissionRunner.serve
    monkeypatch.setattr(SubmissionRunner, "serve", lambda self, tape: serve(self, None))   # no tape
    untaped = json.loads(comparable(grade("01_softmax", path)))
    assert untaped["student_output"] != json.loads(by_itself)["student_output"]


def test_a_passing_check_is_replayed_without_hypothesis(monkeypatch):
    """After the reference, a correct submission's checks never start Hypothesis's engine."""
    runs = count_engine_runs(monkeypatch)
    replay.forget()
    try:
        grade("01_softmax", REFERENCE)
        started = len(runs)
        assert started > 0
        result = grade("01_softmax", REFERENCE)
    finally:
        replay.forget()
    assert result.score == result.max_score
    assert len(runs) == started   # none for the second submission


def test_records_saved_by_one_process_are_replayed_by_the_next(tmp_path, monkeypatch):
    """What one `grade` recorded, the next starts from; a file that is not a record is ignored."""
    monkeypatch.setenv(replay_store.ENV, str(tmp_path))
    runs = count_engine_runs(monkeypatch)
    replay.forget()
    try:
        first = grade("01_softmax", REFERENCE)
        saved = sorted(tmp_path.glob("*.json"))
        assert len(saved) == len(runs) > 0
        replay.forget()   # a new process: nothing in memory
        runs.clear()
        assert comparable(grade("01_softmax", REFERENCE)) == comparable(first) and not runs

        # A record that names anything but the kit's bundles, plain values and dtypes is not read.
        text = saved[0].read_text()
        assert '"bundle": "' in text
        forged = text.replace('"bundle": "', '"bundle": "__class__', 1)
        saved[0].write_text(forged)
        key = next(k for k in replay._records if replay_store._name(k) == saved[0].name)
        assert replay_store.load(key, replay.Example) is None
        saved[1].write_text("not json")
        replay.forget()
        runs.clear()
        assert comparable(grade("01_softmax", REFERENCE)) == comparable(first)
        assert len(runs) == 2   # those two ran under Hypothesis
    finally:
        replay.forget()


def test_a_class_never_grades_from_saved_records(tmp_path, monkeypatch):
    """Records cut down to their first example make a wrong softmax pass more checks when a grade
    reads them; a class (saved_records=False) grades it as alone."""
    monkeypatch.setenv(replay_store.ENV, str(tmp_path))
    wrong = CORPUS / "01_softmax" / "buggy" / "no_max.py"
    replay.forget()
    try:
        by_itself = alone(wrong)
        grade("01_softmax", REFERENCE)
        for path in tmp_path.glob("*.json"):
            saved = json.loads(path.read_text())
            if "traces" in saved:   # the failing runs alone(wrong) kept: whoever forges records removes them
                path.unlink()
                continue
            saved["examples"] = saved["examples"][:1]
            path.write_text(json.dumps(saved))
        replay.forget()
        assert grade("01_softmax", wrong).score > by_itself.score   # the attack, on a grade that reads them
        replay.forget()
        exercise = load_exercise(EXERCISES / "01_softmax")
        as_in_a_class = session.grade_submission(exercise=exercise, submission=wrong, devices=("cpu",),
                                                 saved_records=False)
        assert comparable(as_in_a_class) == comparable(by_itself)
    finally:
        replay.forget()


def test_an_edited_strategy_or_helper_is_a_new_record(tmp_path, monkeypatch):
    kit, checks = tmp_path / "kit", tmp_path / "checks"
    kit.mkdir(), checks.mkdir()
    (kit / "strategies.py").write_text("SIZES = (1, 2, 3)\n")
    (checks / "helpers.py").write_text("LENGTHS = (1, 4)\n")
    monkeypatch.setattr(replay, "KIT", kit)
    first = replay._drawing_digest(checks)
    assert replay._drawing_digest(checks) == first
    (kit / "strategies.py").write_text("SIZES = (1, 2, 3, 64)\n")
    second = replay._drawing_digest(checks)
    (checks / "helpers.py").write_text("LENGTHS = (1, 4, 9)\n")
    assert len({first, second, replay._drawing_digest(checks)}) == 3


# A check that holds a replay to what Hypothesis gives each example: every example's body starts from
# the generators seeded as Hypothesis seeds them, and gets its own copy of what was drawn (the body
# appends to its list; the next example, or the next submission's replay, must not see it).
SEEDED_CHECK = '''
import random

import numpy as np
import pytest
from hypothesis import given, strategies as st

from grader.kit.strategies import mha_inputs

FIRST, NP_FIRST = random.Random(0).random(), np.random.RandomState(0).rand()


@pytest.mark.points(1)
@given(n=st.integers(0, 5), xs=st.lists(st.integers(0, 9), min_size=1, max_size=3), inputs=mha_inputs())
def test_each_example_starts_afresh(student, n, xs, inputs):
    """Each example starts from seeded generators and its own arguments"""
    assert random.random() == FIRST and np.random.rand() == NP_FIRST
    assert -1 not in xs
    xs.append(-1)
    for _ in range(n):
        random.random(), np.random.rand()
'''


@pytest.fixture
def seeded_exercise(tmp_path):
    folder = tmp_path / "01_seeded"
    (folder / "checks").mkdir(parents=True)
    (folder / "exercise.toml").write_text((EXERCISES / "01_softmax" / "exercise.toml").read_text())
    (folder / "checks" / "test_seeded.py").write_text(SEEDED_CHECK)
    return load_exercise(folder)


def _engine_runs(exercise, monkeypatch, grades: int) -> list[int]:
    """How many times Hypothesis's engine ran in each of ``grades`` gradings of the reference."""
    runs = count_engine_runs(monkeypatch)
    found = []
    replay.forget()
    try:
        for _ in range(grades):
            before = len(runs)
            result = session.grade_submission(exercise=exercise, submission=REFERENCE, devices=("cpu",),
                                              saved_records=False)
            assert result.score == result.max_score
            found.append(len(runs) - before)
    finally:
        replay.forget()
    return found


def test_a_replayed_example_starts_as_hypothesis_starts_it(seeded_exercise, monkeypatch):
    """Replayed, each example's body sees the generators Hypothesis seeds and arguments of its own: the
    record passes without the engine, and the process's random state is as it was. Without the seeding
    before each example, or with the drawn arguments shared, the replay fails and the engine runs."""
    state, np_state = random.getstate(), np.random.get_state()
    assert _engine_runs(seeded_exercise, monkeypatch, 3) == [1, 0, 0]
    assert random.getstate() == state and (np.random.get_state()[1] == np_state[1]).all()

    monkeypatch.setattr(replay, "reseed", lambda: None)
    assert _engine_runs(seeded_exercise, monkeypatch, 2) == [1, 1]
    monkeypatch.undo()

    monkeypatch.setattr(replay, "fresh", lambda drawn: drawn)
    assert _engine_runs(seeded_exercise, monkeypatch, 3)[1:] != [0, 0]


def test_only_what_nothing_can_change_is_shared_by_a_replay():
    bundle = strategies.rich_mha_inputs("causal")
    drawn = {"inputs": bundle, "n": 3, "dtype": torch.float16, "shape": (2, (3, 4)), "xs": [1, 2], "d": {"a": [1]}}
    copied = replay.fresh(drawn)
    assert copied == drawn
    assert copied["inputs"] is bundle and copied["shape"] is drawn["shape"]
    assert copied["xs"] is not drawn["xs"] and copied["d"]["a"] is not drawn["d"]["a"]


def test_a_failing_check_is_replayed_from_another_submissions_run(monkeypatch, tmp_path):
    """A second submission with the same mistake (other bytes, other names) fails every check as it
    fails alone, and Hypothesis's engine never starts: each check follows the run the first one
    failed, shrank and ended with. Without failing runs kept, the engine runs for every failed check."""
    first = CORPUS / "01_softmax" / "buggy" / "no_max.py"
    second = tmp_path / "solution.py"
    second.write_text(first.read_text().replace("def softmax(", "def _unused():\n    return None\n\n\ndef softmax(")
                      + "\n# another student\n")
    runs = count_engine_runs(monkeypatch)
    replay.forget()
    try:
        by_itself = comparable(alone(second))
        failed = sum(c["status"] != "passed" for c in json.loads(by_itself)["checks"])
        grade("01_softmax", REFERENCE)
        grade("01_softmax", first)
        assert replay._traces
        runs.clear()
        again = grade("01_softmax", second)
        assert comparable(again) == by_itself and failed > 0
        assert runs == []

        monkeypatch.setattr(replay, "keep_failure", lambda key, trace, save=True: None)
        replay.forget()
        grade("01_softmax", REFERENCE)
        grade("01_softmax", first)
        runs.clear()
        assert comparable(grade("01_softmax", second)) == by_itself
        assert len(runs) == failed
    finally:
        replay.forget()


def _item(test):
    """What replay needs of a pytest item: the Hypothesis test as its ``obj``."""
    return type("Item", (), {"obj": test})()


QUIET = settings(database=None, derandomize=True, deadline=None, max_examples=30)


def _run_recorded(test):
    item = _item(test)
    with replay.recording(item, {}) as drawn:
        try:
            test()
        except AssertionError as error:
            return item, drawn.failed_as(error), error
    return item, None, None


def test_a_failing_run_is_a_trace_that_a_replay_follows_to_the_same_end():
    """A run that fails, shrinks and ends is kept as a trace; replayed, it ends with its final example's
    own error and the notes Hypothesis gave it. A body that fails elsewhere stops the replay where it
    first ends otherwise, and a body that passes where the run failed does too."""
    limit = [10]

    @QUIET
    @given(st.integers(0, 1000))
    def check(x):
        assert x < limit[0], "too large"

    item, trace, error = _run_recorded(check)
    assert trace is not None and trace.notes and trace.examples[-1].is_final
    assert any("check(" in note for note in trace.notes)   # Hypothesis's failing test case, as it said it
    assert sum(e.is_final for e in trace.examples) == 1 and len(trace.examples) > 2   # it shrank

    outcome = replay.replay(item, [trace], {})
    assert outcome.failed and outcome.notes == trace.notes
    assert isinstance(outcome.error, AssertionError) and str(outcome.error) == str(error)

    limit[0] = 2000   # passes everywhere: ends otherwise at the first example that failed then
    outcome = replay.replay(item, [trace], {})
    first_failure = next(i for i, e in enumerate(trace.examples) if e.failure is not None)
    assert not outcome.passed and not outcome.failed and outcome.stopped_at == first_failure


def test_a_failure_raised_elsewhere_is_another_ending():
    """Where an error comes from is part of how an example ends: the same error type, raised on another
    line, does not follow the trace."""
    where = ["first"]

    @QUIET
    @given(st.integers(0, 1000))
    def check(x):
        if x >= 10:
            if where[0] == "first":
                raise AssertionError("too large")
            raise AssertionError("too large")

    item, trace, _ = _run_recorded(check)
    where[0] = "second"
    outcome = replay.replay(item, [trace], {})
    assert not outcome.failed and outcome.error is not None


def test_a_run_whose_final_example_reports_is_not_kept():
    """What the final example tells Hypothesis (``note``) is in the notes: a replay could not say it."""
    from hypothesis import note

    @QUIET
    @given(st.integers(0, 1000))
    def check(x):
        note(f"x is {x}")
        assert x < 10

    _, trace, error = _run_recorded(check)
    assert error is not None and trace is None


def test_a_failing_run_saved_by_one_grade_is_followed_by_the_next(tmp_path, monkeypatch):
    """A student who grades the same mistake again (a new process) gets the same report, without
    Hypothesis's engine: the failing runs were kept in the cache folder beside the passing ones."""
    monkeypatch.setenv(replay_store.ENV, str(tmp_path / "cache"))
    wrong = CORPUS / "01_softmax" / "buggy" / "no_max.py"
    runs = count_engine_runs(monkeypatch)
    replay.forget()
    try:
        first = grade("01_softmax", wrong)
        assert first.score < first.max_score and runs
        replay.forget()   # a new process: nothing in memory
        runs.clear()
        assert comparable(grade("01_softmax", wrong)) == comparable(first)
        assert runs == []
    finally:
        replay.forget()


def test_a_class_with_repeated_mistakes_grades_each_student_as_alone(tmp_path):
    """`grade class` with one worker: the second and third students with a mistake follow the first
    one's failing runs; every student's every check is what grading them alone gives."""
    import subprocess
    import sys

    klass = tmp_path / "class"
    klass.mkdir()
    sources = {"a_right": REFERENCE, "b_no_max": CORPUS / "01_softmax" / "buggy" / "no_max.py",
               "c_dim": CORPUS / "01_softmax" / "buggy" / "fixed_dim_1.py",
               "d_no_max": CORPUS / "01_softmax" / "buggy" / "no_max.py",
               "e_dim": CORPUS / "01_softmax" / "buggy" / "fixed_dim_1.py",
               "f_no_max": CORPUS / "01_softmax" / "buggy" / "no_max.py"}
    for student, source in sources.items():
        (klass / f"{student}.py").write_text(source.read_text() + f"\n# handed in by {student}\n")
    done = subprocess.run([sys.executable, "-m", "grader", "class", str(EXERCISES / "01_softmax"), str(klass),
                           "--report-dir", str(tmp_path / "out"), "--jobs", "1", "-q"],
                          capture_output=True, text=True, cwd=EXERCISES.parent)
    assert done.returncode == 0, done.stderr
    for student in sources:
        saved = json.loads((tmp_path / "out" / "saved" / f"{student}.json").read_text())["result"]
        by_itself = json.loads(comparable(alone(klass / f"{student}.py")))
        graded = json.loads(json.dumps(saved))
        assert json.loads(comparable(_Result(graded)))["checks"] == by_itself["checks"], student


class _Result:
    """A saved result, read back, as comparable() reads a GradeResult."""

    def __init__(self, data: dict) -> None:
        self.data = data

    def to_dict(self) -> dict:
        return self.data
