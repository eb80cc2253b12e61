"""The ``grade`` command. Thin: it parses arguments and forwards to :mod:`grader.api`.

Exit status: 0 when every check passed, 1 when any check failed, 2 when the
grader could not grade (bad arguments, missing exercise or submission).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader import api

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> None:
    click.echo(f"grade: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("exercise_dir", type=click.Path(path_type=Path))
@click.option("--submission", type=click.Path(path_type=Path), default=None,
              help="Grade this file instead of EXERCISE_DIR/solution.py.")
@click.option("--results-json", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the result in Gradescope's results.json format to this file.")
@click.option("--report-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Folder the HTML report is written to.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the generated test inputs; the same seed always gives the same score.")
@click.option("--isolation", type=click.Choice(["best", "namespaces", "rlimits"]), default="best",
              show_default=True, help="Sandbox level for the submission; 'best' uses the strongest available.")
@click.option("--require-isolation", is_flag=True, default=False,
              help="Refuse to grade unless the strong (namespace) sandbox is available.")
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the score line.")
def main(exercise_dir: Path, submission: Path | None, results_json: Path | None, report_dir: Path,
         seed: int, isolation: str, require_isolation: bool, quiet: bool) -> None:
    """Grade the solution in EXERCISE_DIR (for example exercises/02_multihead).

    Prints a summary of every check, writes an HTML report to REPORT_DIR and
    exits 0 if every check passed, 1 if any failed, 2 if grading was impossible.
    """
    try:
        outcome = api.grade(exercise_dir=exercise_dir, submission=submission, results_json=results_json,
                            report_dir=report_dir, seed=seed, isolation=isolation,
                            require_isolation=require_isolation)
    except api.GradingError as error:
        _fail(str(error))
        return
    result = outcome.result
    if quiet:
        click.echo(f"{result.exercise}: {result.score:g}/{result.max_score:g}")
    else:
        click.echo(api.terminal_summary(outcome))
    sys.exit(EXIT_PASSED if result.all_passed else EXIT_FAILED)
