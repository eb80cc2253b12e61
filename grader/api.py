"""The package's keyword-only API: everything the ``grade`` command does, callable from Python.

Each verb of the command line is one function here. Errors are :class:`GradingError`
with a one-line message that names the value at fault, never a command-line flag;
``error.param`` says which argument it was, so the command line can name its option.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader import results, wire
from grader.outputs import gradescope, junit as junit_xml, report, terminal
from grader.run import batch, session
from grader.sandbox import forkserver, probe
from grader.spec import Exercise, ExerciseError, load_exercise


class GradingError(Exception):
    """Grading was impossible (bad arguments); the message is one line with the fix.

    ``param`` names the argument at fault (``"submission"``, ``"junit"``, ...), or is None.
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Outcome:
    result: results.GradeResult
    report_path: Path | None
    results_json: Path | None
    junit: Path | None = None


def grade(*, exercise_dir: Path, submission: Path | None = None, results_json: Path | None = None,
          report_dir: Path | None = Path("reports"), seed: int = session.DEFAULT_SEED,
          isolation: str = "best", require_isolation: bool = False, junit: Path | None = None) -> Outcome:
    """Grade one submission of one exercise and write its report (and results.json, JUnit XML)."""
    exercise = _load(exercise_dir)
    if junit is not None:
        _check_writable(junit, report_dir)
    if submission is not None:
        if not Path(submission).is_file():
            raise GradingError(f"{submission}: no such file.", param="submission")
    elif not exercise.solution.is_file():
        raise GradingError(f"{exercise.solution}: the exercise has no solution.py to grade.")
    isolation = _isolation(isolation, require_isolation)
    result = session.grade_submission(exercise=exercise, submission=submission, seed=seed, isolation=isolation)
    report_path = report.write_student_report(result, report_dir) if report_dir is not None else None
    json_path = gradescope.write_results_json(result, results_json) if results_json is not None else None
    junit_path = _write_junit(junit_xml.write_junit, result, junit) if junit is not None else None
    return Outcome(result=result, report_path=report_path, results_json=json_path, junit=junit_path)


def terminal_summary(outcome: Outcome) -> str:
    return terminal.summary(outcome.result,
                            report_path=str(outcome.report_path) if outcome.report_path else None)


def grade_class(*, exercise_dir: Path, submissions: Path, report_dir: Path = Path("reports"),
                seed: int = session.DEFAULT_SEED, isolation: str = "best", require_isolation: bool = False,
                resume: bool = True, jobs: int | None = None,
                progress: Callable[[str], None] | None = None, junit: Path | None = None) -> results.BatchResult:
    """Grade every submission in the folder ``submissions`` (``<student>.py`` or ``<student>/solution.py``).

    ``jobs`` submissions are graded at once (None: :func:`grader.run.batch.default_jobs`).
    ``junit``: also write every student's result to this one JUnit XML file.
    """
    exercise = _load(exercise_dir)
    folder = Path(submissions)
    if not folder.is_dir():
        raise GradingError(f"{submissions}: no such folder.", param="submissions")
    if not batch.find_submissions(folder):
        raise GradingError(f"{submissions}: no submissions found "
                           "(expected <student>.py files or <student>/solution.py folders).", param="submissions")
    if jobs is not None and jobs < 1:
        raise GradingError(f"{jobs}: give a number of workers, 1 or more.", param="jobs")
    if junit is not None:
        _check_writable(junit, report_dir)
    isolation = _isolation(isolation, require_isolation, batch=True)
    graded = batch.grade_batch(exercise=exercise, submissions_dir=folder, report_dir=report_dir, seed=seed,
                               isolation=isolation, resume=resume, jobs=jobs or batch.default_jobs(),
                               progress=progress)
    if junit is not None:
        _write_junit(junit_xml.write_batch_junit, graded, junit)
    return graded


def list_exercises(*, folder: Path) -> list[Exercise]:
    """The exercises in ``folder`` (each a subfolder with an exercise.toml), by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"{folder}: no such folder.", param="folder")
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() and (path / "exercise.toml").is_file():
            try:
                found.append(load_exercise(path))
            except ExerciseError as error:
                raise GradingError(str(error)) from None
    if not found:
        raise GradingError(f"{folder}: no exercises here (folders with an exercise.toml).", param="folder")
    return found


def _check_writable(path: Path, report_dir: Path | None) -> None:
    """Refuse, before grading, a JUnit file that could not be written.

    Its folder must exist, except when it is the report folder, which grading creates.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise GradingError(f"{path}: is a folder; give the name of the file to write.", param="junit")
    if report_dir is not None and folder.resolve() == Path(report_dir).resolve() and not folder.exists():
        return
    if not folder.is_dir():
        raise GradingError(f"{path}: no such folder {folder}; create it first.", param="junit")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GradingError(f"{path}: cannot write there (permission denied).", param="junit")


def _write_junit(write, result, path: Path) -> Path:
    try:
        return write(result, path)
    except OSError as error:
        raise GradingError(f"{path}: cannot write it: {error.strerror or error}.", param="junit") from None


def _load(exercise_dir: Path) -> Exercise:
    forkserver.warm_up()  # the forkserver imports torch while we go on
    try:
        return load_exercise(exercise_dir)
    except ExerciseError as error:
        raise GradingError(str(error)) from None


def _isolation(requested: str, required: bool, *, batch: bool = False) -> str:
    """The level to grade at. A class is graded at the ``namespaces`` level, or at a weaker one
    only when the instructor names it: 'best' on a machine without namespaces refuses."""
    available = probe.strongest_available()
    if required and available != wire.LEVEL_NAMESPACES:
        raise GradingError(f"the strong sandbox is not available here (best available: {available}); "
                           "see SECURITY.md.", param="require_isolation")
    if requested == wire.LEVEL_NAMESPACES and available != wire.LEVEL_NAMESPACES:
        raise GradingError("this machine cannot create the namespaces the 'namespaces' level needs "
                           f"(best available: {available}); see SECURITY.md.", param="isolation")
    if batch and requested == "best" and available != wire.LEVEL_NAMESPACES:
        raise GradingError(
            f"this machine gives only the '{available}' sandbox (no namespaces), which does not keep students "
            f"apart as the 'namespaces' level does; to grade the class at that level anyway, name it: "
            f"--isolation {available} (SECURITY.md says what it does not guarantee).", param="isolation")
    return wire.LEVEL_NAMESPACES if required else requested
