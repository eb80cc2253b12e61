"""The package's keyword-only API: everything the ``grade`` command does, callable from Python."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typing import Callable

from grader import batch, gradescope, grading, junit as junit_xml, report, results, sandbox, terminal
from grader.exercise import Exercise, ExerciseError, load_exercise


class GradingError(Exception):
    """Grading was impossible (bad arguments); the message is one line with the fix."""


@dataclass(frozen=True)
class Outcome:
    result: results.GradeResult
    report_path: Path | None
    results_json: Path | None
    junit: Path | None = None


def grade(*, exercise_dir: Path, submission: Path | None = None, results_json: Path | None = None,
          report_dir: Path | None = Path("reports"), seed: int = grading.DEFAULT_SEED,
          isolation: str = "best", require_isolation: bool = False, junit: Path | None = None) -> Outcome:
    """Grade one submission of one exercise and write its report (and results.json, JUnit XML)."""
    exercise = _load(exercise_dir)
    if junit is not None:
        _check_writable(junit, report_dir)
    if submission is not None:
        if not Path(submission).is_file():
            raise GradingError(f"--submission {submission}: no such file.")
    elif not exercise.solution.is_file():
        raise GradingError(f"{exercise.solution}: the exercise has no solution.py to grade.")
    isolation = _isolation(isolation, require_isolation)
    result = grading.grade_submission(exercise=exercise, submission=submission, seed=seed, isolation=isolation)
    report_path = report.write_student_report(result, report_dir) if report_dir is not None else None
    json_path = gradescope.write_results_json(result, results_json) if results_json is not None else None
    junit_path = _write_junit(junit_xml.write_junit, result, junit) if junit is not None else None
    return Outcome(result=result, report_path=report_path, results_json=json_path, junit=junit_path)


def terminal_summary(outcome: Outcome) -> str:
    return terminal.summary(outcome.result,
                            report_path=str(outcome.report_path) if outcome.report_path else None)


def grade_class(*, exercise_dir: Path, submissions_dir: Path, report_dir: Path = Path("reports"),
                seed: int = grading.DEFAULT_SEED, isolation: str = "best", require_isolation: bool = False,
                resume: bool = True, jobs: int | None = None,
                progress: Callable[[str], None] | None = None, junit: Path | None = None) -> results.BatchResult:
    """Grade every submission in ``submissions_dir`` (``<student>.py`` or ``<student>/solution.py``).

    ``jobs`` submissions are graded at once (None: :func:`grader.batch.default_jobs`).
    ``junit``: also write every student's result to this one JUnit XML file.
    """
    exercise = _load(exercise_dir)
    folder = Path(submissions_dir)
    if not folder.is_dir():
        raise GradingError(f"--batch {submissions_dir}: no such folder.")
    if not batch.find_submissions(folder):
        raise GradingError(f"--batch {submissions_dir}: no submissions found "
                           "(expected <student>.py files or <student>/solution.py folders).")
    if jobs is not None and jobs < 1:
        raise GradingError(f"--jobs {jobs}: give a number of workers, 1 or more.")
    if junit is not None:
        _check_writable(junit, report_dir)
    isolation = _isolation(isolation, require_isolation)
    graded = batch.grade_batch(exercise=exercise, submissions_dir=folder, report_dir=report_dir, seed=seed,
                               isolation=isolation, resume=resume, jobs=jobs or batch.default_jobs(),
                               progress=progress)
    if junit is not None:
        _write_junit(junit_xml.write_batch_junit, graded, junit)
    return graded


def _check_writable(path: Path, report_dir: Path | None) -> None:
    """Refuse, before grading, a JUnit file that could not be written.

    Its folder must exist, except when it is the report folder, which grading creates.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise GradingError(f"--junit {path}: is a folder; give the name of the file to write.")
    if report_dir is not None and folder.resolve() == Path(report_dir).resolve() and not folder.exists():
        return
    if not folder.is_dir():
        raise GradingError(f"--junit {path}: no such folder {folder}; create it first.")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GradingError(f"--junit {path}: cannot write there (permission denied).")


def _write_junit(write, result, path: Path) -> Path:
    try:
        return write(result, path)
    except OSError as error:
        raise GradingError(f"--junit {path}: cannot write it: {error.strerror or error}.") from None


def _load(exercise_dir: Path) -> Exercise:
    sandbox.warm_up()  # the forkserver imports torch while we go on
    try:
        return load_exercise(exercise_dir)
    except ExerciseError as error:
        raise GradingError(str(error)) from None


def _isolation(requested: str, required: bool) -> str:
    if not required:
        return requested
    from grader import isolation as iso

    available = iso.strongest_available()
    if available != iso.LEVEL_NAMESPACES:
        raise GradingError(f"--require-isolation: the strong sandbox is not available here "
                           f"(best available: {available}); see SECURITY.md.")
    return iso.LEVEL_NAMESPACES
