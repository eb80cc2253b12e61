"""The package's keyword-only API: everything the ``grade`` command does, callable from Python."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader import gradescope, grading, report, results, sandbox, terminal
from grader.exercise import ExerciseError, load_exercise


class GradingError(Exception):
    """Grading was impossible (bad arguments); the message is one line with the fix."""


@dataclass(frozen=True)
class Outcome:
    result: results.GradeResult
    report_path: Path | None
    results_json: Path | None


def grade(*, exercise_dir: Path, submission: Path | None = None, results_json: Path | None = None,
          report_dir: Path | None = Path("reports"), seed: int = grading.DEFAULT_SEED,
          isolation: str = "best", require_isolation: bool = False) -> Outcome:
    """Grade one submission of one exercise and write its report (and results.json)."""
    sandbox.warm_up()
    try:
        exercise = load_exercise(exercise_dir)
    except ExerciseError as error:
        raise GradingError(str(error)) from None
    if submission is not None:
        if not Path(submission).is_file():
            raise GradingError(f"--submission {submission}: no such file.")
    elif not exercise.solution.is_file():
        raise GradingError(f"{exercise.solution}: the exercise has no solution.py to grade.")
    if require_isolation:
        from grader import isolation as iso

        available = iso.strongest_available()
        if available != iso.LEVEL_NAMESPACES:
            raise GradingError(f"--require-isolation: the strong sandbox is not available here "
                               f"(best available: {available}); see SECURITY.md.")
        isolation = iso.LEVEL_NAMESPACES
    result = grading.grade_submission(exercise=exercise, submission=submission, seed=seed, isolation=isolation)
    report_path = report.write_student_report(result, report_dir) if report_dir is not None else None
    json_path = gradescope.write_results_json(result, results_json) if results_json is not None else None
    return Outcome(result=result, report_path=report_path, results_json=json_path)


def terminal_summary(outcome: Outcome) -> str:
    return terminal.summary(outcome.result,
                            report_path=str(outcome.report_path) if outcome.report_path else None)
