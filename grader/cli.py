"""The ``grade`` command. Thin: it parses arguments and forwards to :mod:`grader.api`.

``grade EXERCISE_DIR`` grades one submission (the default verb, ``grade solution``);
``grade class EXERCISE_DIR SUBMISSIONS`` grades a class; ``grade list`` lists exercises.

Exit status: 0 when every check passed, 1 when any check failed, 2 when the
grader could not grade (bad arguments, missing exercise or submission), 130
when a batch was interrupted (what it graded is kept).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, NoReturn

import click
from click_default_group import DefaultGroup

from grader import __version__
from grader.sandbox import forkserver

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for Ctrl-C
WATCH_INTERVAL = 0.25  # seconds between looks at a watched file
DEFAULT_VERB = "solution"

# The option (or argument) of the command line that each API parameter comes from.
FLAGS = {"submission": "--submission", "submissions": "SUBMISSIONS", "junit": "--junit", "jobs": "--jobs",
         "require_isolation": "--require-isolation", "isolation": "--isolation", "folder": "FOLDER"}
MSG_BATCH_MOVED = ("grade: --batch is now its own command; this form goes away in the next release. "
                   "Use: grade class {exercise} {folder}")


def _fail(message: str) -> NoReturn:
    click.echo(f"grade: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _fail_with(error) -> NoReturn:
    """Report an :class:`grader.api.GradingError`, naming the option it came from."""
    flag = FLAGS.get(error.param or "")
    _fail(f"{flag} {error}" if flag and not flag.isupper() else str(error))


@click.group(cls=DefaultGroup, default=DEFAULT_VERB, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="grade", message="%(prog)s %(version)s")
def main() -> None:
    """Grade attention exercises: one solution (the default), or a whole class.

    \b
      grade exercises/02_multihead                  grade your solution.py
      grade class exercises/02_multihead subs/      grade a class
      grade list                                    list the exercises

    `grade EXERCISE_DIR --help` lists the options for one solution.
    """


_isolation_options = [
    click.option("--isolation", type=click.Choice(["best", "namespaces", "rlimits"]), default="best",
                 show_default=True,
                 help="Sandbox level for the submission; 'best' uses the strongest available. A class is graded "
                      "at 'rlimits' only when named here (SECURITY.md says what each level guarantees)."),
    click.option("--require-isolation", is_flag=True, default=False,
                 help="Refuse to grade unless the strong (namespace) sandbox is available."),
]


def _with(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


@main.command(DEFAULT_VERB)
@click.argument("exercise_dir", type=click.Path(path_type=Path))
@click.option("--submission", type=click.Path(path_type=Path), default=None,
              help="Grade this file instead of EXERCISE_DIR/solution.py.")
@click.option("--results-json", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the result in Gradescope's results.json format to this file.")
@click.option("--junit", type=click.Path(path_type=Path), default=None,
              help="Also write the result as JUnit XML to this file (for CI systems).")
@click.option("--report-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Folder the HTML report is written to.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the generated test inputs; the same seed always gives the same score.")
@_with(_isolation_options)
@click.option("--watch", is_flag=True, default=False,
              help="Keep running and grade again every time the submission is saved (Ctrl-C to stop). "
                   "The grader stays warm, so each grade after the first is quicker.")
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the score line.")
@click.option("--batch", "batch_dir", type=click.Path(path_type=Path), default=None, hidden=True,
              help="Deprecated: use `grade class EXERCISE_DIR SUBMISSIONS`.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, hidden=True,
              help="Deprecated, with --batch: see `grade class --help`.")
def solution(exercise_dir: Path, submission: Path | None, results_json: Path | None, junit: Path | None,
             report_dir: Path, seed: int, isolation: str, require_isolation: bool, watch: bool, quiet: bool,
             batch_dir: Path | None, jobs: int | None) -> None:
    """Grade the solution in EXERCISE_DIR (for example exercises/02_multihead).

    Prints a summary of every check, writes an HTML report to REPORT_DIR and
    exits 0 if every check passed, 1 if any failed, 2 if grading was impossible.
    With --watch, grades again on every save; Ctrl-C ends it with the last grade's status.
    """
    forkserver.warm_up()  # torch loads there while the grader loads its own
    from grader import api

    if batch_dir is not None:
        for given, option in ((watch, "--watch"), (submission, "--submission"), (results_json, "--results-json")):
            if given:
                _fail(f"{option} is for one submission; with --batch, every submission in the folder is graded "
                      "(the gradebook is grades.csv; --junit writes one file for the class).")
        click.echo(MSG_BATCH_MOVED.format(exercise=exercise_dir, folder=batch_dir), err=True)
        _grade_class(exercise_dir, batch_dir, report_dir, seed, isolation, require_isolation, jobs, quiet, junit)
    if jobs is not None:
        _fail("--jobs applies only to a class: grade class EXERCISE_DIR SUBMISSIONS --jobs N "
              "(one submission is graded by one worker).")

    def grade_once() -> int:
        try:
            outcome = api.grade(exercise_dir=exercise_dir, submission=submission, results_json=results_json,
                                report_dir=report_dir, seed=seed, isolation=isolation,
                                require_isolation=require_isolation, junit=junit)
        except api.GradingError as error:
            _fail_with(error)
        result = outcome.result
        if quiet:
            click.echo(f"{result.exercise}: {result.score:g}/{result.max_score:g}")
        else:
            click.echo(api.terminal_summary(outcome))
        return EXIT_PASSED if result.all_passed else EXIT_FAILED

    if watch:
        _watch(grade_once, submission or Path(exercise_dir) / "solution.py")
    sys.exit(grade_once())


@main.command("class")
@click.argument("exercise_dir", type=click.Path(path_type=Path))
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--report-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Folder for the class report (index.html), the gradebook (grades.csv) "
                                      "and one report per student.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Grade this many submissions at once [default: one per CPU core]. Scores do not depend on it.")
@click.option("--junit", type=click.Path(path_type=Path), default=None,
              help="Also write every student's result to this one JUnit XML file.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the generated test inputs; the same seed always gives the same scores.")
@_with(_isolation_options)
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the closing line.")
def class_(exercise_dir: Path, submissions: Path, report_dir: Path, jobs: int | None, junit: Path | None,
           seed: int, isolation: str, require_isolation: bool, quiet: bool) -> None:
    """Grade every submission in SUBMISSIONS against EXERCISE_DIR's checks.

    SUBMISSIONS is a folder of <student>.py files or <student>/solution.py folders.
    Writes REPORT_DIR/index.html (the class summary), REPORT_DIR/grades.csv (the
    gradebook) and one report per student, and exits 0 once every submission is graded.
    Each result is saved as it finishes: Ctrl-C stops with status 130, and the same
    command goes on from there (a re-run regrades only submissions that changed).
    """
    forkserver.warm_up()
    _grade_class(exercise_dir, submissions, report_dir, seed, isolation, require_isolation, jobs, quiet, junit)


@main.command("list")
@click.argument("folder", type=click.Path(path_type=Path), default=Path("exercises"))
def list_(folder: Path) -> None:
    """List the exercises in FOLDER (default: ./exercises): id, title and what to implement."""
    from grader import api

    try:
        exercises = api.list_exercises(folder=folder)
    except api.GradingError as error:
        _fail_with(error)
    width = max(len(e.id) for e in exercises)
    for exercise in exercises:
        click.echo(f"{exercise.id:<{width}}  {exercise.title}")
        if exercise.summary:
            click.echo(f"{'':<{width}}  {exercise.summary}")
    click.echo(f"\nGrade one with: grade {Path(folder) / exercises[0].id}")


def _watch(grade_once: Callable[[], int], path: Path) -> None:
    """Grade, then grade again whenever ``path`` changes, until Ctrl-C; exit with the last grade's status."""
    status = grade_once()
    seen = _stamp(path)
    click.echo(f"Watching {path}: save it to grade again (Ctrl-C to stop).", err=True)
    try:
        while True:
            time.sleep(WATCH_INTERVAL)
            now = _stamp(path)
            if now == seen:
                continue
            while True:  # editors save in steps: wait until the file holds still
                time.sleep(WATCH_INTERVAL)
                settled = _stamp(path)
                if settled == now:
                    break
                now = settled
            seen = now
            if now is None:
                continue  # removed (or being replaced): wait for it to come back
            click.echo(f"\n--- {time.strftime('%H:%M:%S')}: {path} changed, grading again ---")
            status = grade_once()
            click.echo(f"Watching {path}: save it to grade again (Ctrl-C to stop).", err=True)
    except KeyboardInterrupt:
        sys.exit(status)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _grade_class(exercise_dir, submissions, report_dir, seed, isolation, require_isolation, jobs, quiet,
                 junit) -> NoReturn:
    from grader import api

    progress = None if quiet else (lambda line: click.echo(line, err=True))
    try:
        result = api.grade_class(exercise_dir=exercise_dir, submissions=submissions, report_dir=report_dir,
                                 seed=seed, isolation=isolation, require_isolation=require_isolation,
                                 jobs=jobs, progress=progress, junit=junit)
    except api.GradingError as error:
        _fail_with(error)
    except KeyboardInterrupt:
        click.echo(f"grade: interrupted. Every submission graded so far is saved in {report_dir}; "
                   "run the same command again to go on from there.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    scores = [entry.result.score for entry in result.entries]
    mean = sum(scores) / len(scores)
    click.echo(f"Graded {len(scores)} submissions of {result.exercise}: mean {mean:.2f}/{result.max_score:g}, "
               f"{sum(e.result.all_passed for e in result.entries)} with full marks, in {result.duration:.1f} s.")
    click.echo(f"Class report: {Path(report_dir) / 'index.html'}  Gradebook: {Path(report_dir) / 'grades.csv'}")
    sys.exit(EXIT_PASSED)
