"""Hidden checks and the final-grading seed: what students see of them, and what the instructor sees.

A hidden check's title, id, inputs and expected values must reach no student's output
(terminal, report, results.json's visible tests, the LMS feedback); the class report and
``--show-hidden`` show it all. Each test reads the real files the commands write.
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader import results
from grader.cli import main

SECRET = "SECRET-7f3a"
HIDDEN_CHECK = f'''
import pytest
import torch

from grader import kit


@pytest.mark.points(2)
@pytest.mark.hidden("masking")
def test_secret_7f3a(student):
    """{SECRET}: a one-row mask broadcasts"""
    x = torch.tensor([[1.0, 2.0, 31337.0]])
    mask = torch.tensor([[True, True, False]])
    got = kit.expect_tensor(student.call("masked_softmax", x, mask, -1), name="output", like=x)
    exact = torch.softmax(x.masked_fill(~mask, float("-inf")), -1)
    kit.assert_close(got, oracle=exact, ref=exact, name="output")
'''
BUGGY = CORPUS / "01_softmax" / "buggy" / "mask_ignored.py"
CORRECT = ROOT / "attention_reference" / "softmax.py"
LEAKS = (SECRET, "test_secret_7f3a", "31337")


@pytest.fixture
def extra(tmp_path):
    folder = tmp_path / "my-checks"
    folder.mkdir()
    (folder / "test_mine.py").write_text(HIDDEN_CHECK)
    return folder


def _grade(*args):
    outcome = CliRunner().invoke(main, [str(EXERCISES / "01_softmax"), *args])
    assert outcome.exit_code in (0, 1), outcome.output
    return outcome


def test_students_see_a_hidden_check_only_by_category_and_count(tmp_path, extra):
    out = tmp_path / "out"
    outcome = _grade("--submission", str(BUGGY), "--extra-checks", str(extra), "--report-dir", str(out),
                     "--results-json", str(out / "results.json"), "--junit", str(out / "junit.xml"))
    assert re.search(r"FAIL\s+0/2\s+Hidden checks: masking\s+1 of 1 hidden masking check failed\.", outcome.output)
    report = (out / "01_softmax.html").read_text()
    junit = (out / "junit.xml").read_text()
    for leak in LEAKS:
        assert leak not in outcome.output and leak not in report and leak not in junit, leak
    data = json.loads((out / "results.json").read_text())
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == [f"{SECRET}: a one-row mask broadcasts"]  # staff see it on Gradescope
    assert not any(leak in json.dumps(visible) + data["output"] for leak in LEAKS)
    summary = [t for t in visible if t["name"] == "Hidden checks: masking"]
    assert summary and summary[0]["tags"] == ["masking"] and summary[0]["status"] == "failed"
    assert data["score"] == sum(t["score"] for t in visible)  # the summary line is not counted twice


def test_the_fold_is_what_hides_them(tmp_path, extra, monkeypatch):
    # The defence off (students get the full result): the hidden check's title reaches the report.
    monkeypatch.setattr(results, "student_view", lambda result: result)
    _grade("--submission", str(BUGGY), "--extra-checks", str(extra), "--report-dir", str(tmp_path))
    assert SECRET in (tmp_path / "01_softmax.html").read_text()


def test_show_hidden_is_the_instructors_view_and_scores_do_not_change(tmp_path, extra):
    full = _grade("--submission", str(BUGGY), "--extra-checks", str(extra), "--report-dir", str(tmp_path),
                  "--show-hidden")
    assert SECRET in full.output
    folded = _grade("--submission", str(BUGGY), "--extra-checks", str(extra), "--report-dir", str(tmp_path))
    assert re.search(r"Score: \S+", full.output).group() == re.search(r"Score: \S+", folded.output).group()
    right = _grade("--submission", str(CORRECT), "--extra-checks", str(extra), "--report-dir", str(tmp_path), "-q")
    assert right.exit_code == 0 and re.fullmatch(r"01_softmax: (\d+)/\1", right.output.strip())  # full marks


def test_a_check_marked_hidden_in_the_exercise_itself_is_folded_too(tmp_path):
    exercise = tmp_path / "01_softmax"
    shutil.copytree(EXERCISES / "01_softmax", exercise, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    (exercise / "checks" / "test_secret.py").write_text(HIDDEN_CHECK.replace('@pytest.mark.hidden("masking")',
                                                                             "@pytest.mark.hidden"))
    outcome = CliRunner().invoke(main, [str(exercise), "--submission", str(BUGGY), "--report-dir", str(tmp_path)])
    assert outcome.exit_code == 1, outcome.output
    assert "Hidden checks: correctness" in outcome.output and SECRET not in outcome.output


def test_a_class_report_shows_everything_and_students_reports_nothing_hidden(tmp_path, extra):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(BUGGY, klass / "bob.py")
    out = tmp_path / "final"
    args = ["class", str(EXERCISES / "01_softmax"), str(klass), "--extra-checks", str(extra), "--seed", "secret",
            "--report-dir", str(out), "--gradebook", "moodle", "-j", "1"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    manifest = json.loads((out / "grading.json").read_text())
    seed = manifest["seed"]
    assert manifest["seed_hidden"] and seed != 0
    index = (out / "index.html").read_text()
    assert SECRET in index and f">{seed} (final-grading seed" in index
    student = (out / "students" / "bob" / "01_softmax.html").read_text()
    assert SECRET not in student and str(seed) not in student and "set by your instructor" in student
    feedback = pd.read_csv(out / "grades-moodle.csv", dtype=str)["Feedback comments"][0]
    assert SECRET not in feedback and "Hidden checks: masking" in feedback
    again = CliRunner().invoke(main, args)  # the same secret seed again: nothing to regrade
    assert again.exit_code == 0 and "(unchanged, kept)" in again.output
    assert json.loads((out / "grading.json").read_text())["seed"] == seed
