"""The `grade` command as users call it: exit codes, summary, results.json, reports, batch."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader.cli import main

CORRECT = CORPUS / "02_multihead" / "correct" / "einsum.py"
BUGGY = CORPUS / "02_multihead" / "buggy" / "no_scale.py"


def test_a_correct_submission_exits_0_with_full_marks_and_a_report(tmp_path):
    runner = CliRunner()
    results = tmp_path / "results.json"
    outcome = runner.invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(CORRECT),
                                   "--results-json", str(results), "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    score = re.search(r"Score: (\d+)/(\d+)", outcome.output)
    assert score and score.group(1) == score.group(2) and "(all checks passed)" in outcome.output
    assert (tmp_path / "out" / "02_multihead.html").is_file()
    data = json.loads(results.read_text())
    assert data["score"] == data["max_score"] == int(score.group(2))
    assert {t["status"] for t in data["tests"]} == {"passed"}
    assert set(data["tests"][0]) == {"name", "score", "max_score", "status", "output"}


def test_a_wrong_submission_exits_1_and_says_why(tmp_path):
    results = tmp_path / "results.json"
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(BUGGY),
                                        "--results-json", str(results), "--report-dir", str(tmp_path)])
    assert outcome.exit_code == 1, outcome.output
    assert "FAIL" in outcome.output and "not divided by sqrt(d_k)" in outcome.output
    data = json.loads(results.read_text())
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 for t in failed)
    assert any("Likely mistake" in t["output"] for t in failed)
    assert data["score"] == sum(t["score"] for t in data["tests"]) < data["max_score"]


@pytest.mark.parametrize("args, message", [
    (["no/such/exercise"], "no such folder"),
    ([str(ROOT / "reference")], "not an exercise"),
    ([str(EXERCISES / "02_multihead"), "--submission", "missing.py"], "no such file"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 2
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("grade: error:")


def test_the_grade_script_runs_as_a_real_process(tmp_path):
    """The console script, in a subprocess, from another working directory."""
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    done = subprocess.run([*exe.split(), str(EXERCISES / "02_multihead"), "--submission", str(BUGGY), "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert re.fullmatch(r"02_multihead: \d+/\d+", done.stdout.strip())
    assert (tmp_path / "reports" / "02_multihead.html").is_file()


def test_batch_grades_a_class_and_resumes(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(CORRECT, klass / "alice.py")
    (klass / "bob").mkdir()
    shutil.copy(BUGGY, klass / "bob" / "solution.py")
    (klass / "notes.txt").write_text("not a submission")
    out = tmp_path / "reports"
    runner = CliRunner()
    first = runner.invoke(main, [str(EXERCISES / "02_multihead"), "--batch", str(klass), "--report-dir", str(out)])
    assert first.exit_code == 0, first.output
    assert "Graded 2 submissions" in first.output
    assert re.search(r"\[1/2\] alice: (\d+)/\1 ", first.output) and "[2/2] bob:" in first.output
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert rows[0]["student"] == "alice" and rows[0]["score"] == rows[0]["max_score"]
    assert rows[1]["student"] == "bob" and float(rows[1]["score"]) < float(rows[1]["max_score"])
    assert (out / "index.html").is_file() and (out / "alice" / "02_multihead.html").is_file()
    second = runner.invoke(main, [str(EXERCISES / "02_multihead"), "--batch", str(klass), "--report-dir", str(out)])
    assert second.exit_code == 0 and second.output.count("(unchanged, kept)") == 2


def test_batch_of_an_empty_folder_exits_2(tmp_path):
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--batch", str(tmp_path)])
    assert outcome.exit_code == 2 and "no submissions found" in outcome.output
