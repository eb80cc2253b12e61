"""The ``grade`` command. Thin: it parses arguments and forwards to :mod:`grader.api`.

``grade EXERCISE_DIR`` grades one submission (the default verb, ``grade solution``);
``grade class EXERCISE_DIR SUBMISSIONS`` grades a class; ``grade gradescope`` writes an
autograder bundle; ``grade handout`` writes a student handout; ``grade list`` lists the
exercises and ``grade init`` copies them out of the package.

Exit status: 0 when every check passed, 1 when any check failed, 2 when the
grader could not grade (bad arguments, missing exercise or submission), 130
when a batch was interrupted (what it graded is kept).
"""

from __future__ import annotations

import atexit
import os
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
         "require_isolation": "--require-isolation", "isolation": "--isolation", "folder": "FOLDER",
         "extra_checks": "--extra-checks", "roster": "--roster", "gradebook": "--gradebook", "layout": "--layout",
         "seed": "--seed", "output": "--output", "target": "DIR", "names": "EXERCISE", "scheduler": "--scheduler", "device": "--device"}
MSG_BATCH_MOVED = ("grade: --batch is now its own command; this form goes away in the next release. "
                   "Use: grade class {exercise} {folder}")


def entry() -> NoReturn:
    """The ``grade`` program (the console script and ``python -m grader``): :func:`main`, then a quick exit.

    Once the command is done, its output flushed and the exit handlers run (temporary folders
    removed, the forkserver ended), the process ends without tearing its interpreter down:
    unloading torch and the rest took a third of a second that nobody waits for gladly. Called
    as a Click command (tests, other programs), :func:`main` exits as usual.
    """
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:   # pragma: no cover (standalone Click always exits)
        code = 0
    if not isinstance(code, int):   # sys.exit("message"): printed, status 1, as Python does
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed pipe: what Python's own exit would also lose
            pass
    atexit._run_exitfuncs()
    os._exit(code)


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
      grade list                                    list the exercises (and your last scores)
      grade init .                                  copy the exercises into ./exercises
      grade class exercises/02_multihead subs.zip   grade a class (a folder or an LMS download)
      grade gradescope exercises/02_multihead -o autograder.zip
      grade handout exercises/02_multihead -o handout/

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


_device_option = click.option(
    "--device", type=click.Choice(["cpu", "cuda", "all"]), default=None,
    help="Where the PyTorch checks run: cpu, cuda, or all (both). Default: every device this machine has. "
         "A check run on two devices is worth half its points on each, so the maximum score is the same "
         "everywhere; without a CUDA GPU, cuda and all are refused.")


_extra_checks_option = click.option(
    "--extra-checks", "extra_checks", type=click.Path(path_type=Path, file_okay=False), multiple=True,
    help="Also run the checks in this folder (test_*.py files written with grader.kit, like an exercise's "
         "checks/). They are hidden: students' outputs show them only by category and count. Repeatable.")


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
@_device_option
@_extra_checks_option
@click.option("--show-hidden", is_flag=True, default=False,
              help="Show hidden checks in full in the terminal, the report and the JUnit file (the instructor's "
                   "view; do not give students these outputs).")
@click.option("--final-seed", type=int, default=None,
              help="Grade with the instructor's final-grading seed N instead of --seed; students' outputs "
                   "(report, results.json) do not show it. Used by the Gradescope bundle.")
@click.option("--watch", is_flag=True, default=False,
              help="Keep running and grade again every time the submission is saved (Ctrl-C to stop). "
                   "The grader stays warm, so each grade after the first is quicker.")
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the score line.")
@click.option("--batch", "batch_dir", type=click.Path(path_type=Path), default=None, hidden=True,
              help="Deprecated: use `grade class EXERCISE_DIR SUBMISSIONS`.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, hidden=True,
              help="Deprecated, with --batch: see `grade class --help`.")
def solution(exercise_dir: Path, submission: Path | None, results_json: Path | None, junit: Path | None,
             report_dir: Path, seed: int, isolation: str, require_isolation: bool, extra_checks: tuple[Path, ...],
             show_hidden: bool, final_seed: int | None, watch: bool, quiet: bool, batch_dir: Path | None,
             jobs: int | None, device: str | None) -> None:
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
        _grade_class(exercise_dir, batch_dir, report_dir, seed, isolation, require_isolation, jobs, quiet, junit,
                     extra_checks=extra_checks, device=device)
    if jobs is not None:
        _fail("--jobs applies only to a class: grade class EXERCISE_DIR SUBMISSIONS --jobs N "
              "(one submission is graded by one worker).")

    def grade_once() -> int:
        try:
            outcome = api.grade(exercise_dir=exercise_dir, submission=submission, results_json=results_json,
                                report_dir=report_dir, seed=seed if final_seed is None else final_seed,
                                isolation=isolation, require_isolation=require_isolation, junit=junit,
                                extra_checks=extra_checks, show_hidden=show_hidden,
                                seed_hidden=final_seed is not None, device=device)
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
              show_default=True, help="Folder for the class report (index.html), the gradebooks (grades.csv, ...) "
                                      "and one report per student (under students/).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Grade this many submissions at once [default: one per CPU core]. Scores do not depend on it.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The class list as the LMS exports it (Canvas's or Moodle's gradebook export, Gradescope's "
                   "roster, or any CSV with names, ids or emails): every student on it gets a row, "
                   "'no submission' if nothing came in, and the LMS gradebook gets their ids.")
@click.option("--gradebook", "gradebook_format", type=click.Choice(["plain", "canvas", "moodle"]), default="plain",
              show_default=True, help="Also write the LMS's own import file: grades-canvas.csv (Canvas's gradebook "
                                      "import) or grades-moodle.csv (Moodle's grading worksheet). grades.csv, one "
                                      "column per check, is always written.")
@click.option("--assignment", default=None,
              help="The assignment's column name in the LMS gradebook [default: the exercise's title]; for Canvas "
                   "'Name (12345)' updates the existing assignment 12345.")
@click.option("--layout", type=click.Choice(["plain", "canvas", "moodle", "gradescope"]), default=None,
              help="How SUBMISSIONS is laid out [default: recognised from its file names].")
@_extra_checks_option
@click.option("--junit", type=click.Path(path_type=Path), default=None,
              help="Also write every student's result to this one JUnit XML file.")
@click.option("--seed", default="0", show_default=True,
              help="Seed of the generated test inputs. Any seed but 0 is a final-grading seed that no student's "
                   "report shows; 'secret' draws one and keeps it in REPORT_DIR/grading.json for re-runs.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster: the scheduler's address (tcp://host:8786). Its workers need this "
                   "package installed and the exercise and submissions at the same paths.")
@_with(_isolation_options)
@_device_option
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the closing lines.")
def class_(exercise_dir: Path, submissions: Path, report_dir: Path, jobs: int | None, roster: Path | None,
           gradebook_format: str, assignment: str | None, layout: str | None, extra_checks: tuple[Path, ...],
           junit: Path | None, seed: str, scheduler: str | None, isolation: str, require_isolation: bool,
           quiet: bool, device: str | None) -> None:
    """Grade every submission in SUBMISSIONS against EXERCISE_DIR's checks.

    SUBMISSIONS is a folder or an archive (.zip, .tar.gz): plain (<student>.py files,
    <student>/solution.py or <student>/ with one .py file), or an LMS download as it comes:
    Canvas's "Download Submissions", Moodle's "Download all submissions", Gradescope's
    "Export Submissions". Every entry (and every student of --roster) gets a row of
    REPORT_DIR/grades.csv: graded, or 0 with the reason. Writes REPORT_DIR/index.html, the
    class summary (hidden checks and the seed included: it is the instructor's), and one
    report per student under REPORT_DIR/students/ (hidden checks counted only).
    Each result is saved as it finishes: Ctrl-C stops with status 130, and the same
    command goes on from there (a re-run regrades only submissions that changed).
    """
    forkserver.warm_up()
    _grade_class(exercise_dir, submissions, report_dir, seed, isolation, require_isolation, jobs, quiet, junit,
                 extra_checks=extra_checks, roster=roster, gradebook=gradebook_format, layout=layout,
                 assignment=assignment, scheduler=scheduler, device=device)


@main.command("list")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
def list_(folder: Path | None) -> None:
    """List the exercises in FOLDER (default: ./exercises, else the ones shipped with the grader):
    id, title, what to implement, and your last score where you have graded it."""
    from grader import api

    try:
        folder = folder if folder is not None else api.default_exercises()
        exercises = api.list_exercises(folder=folder)
    except api.GradingError as error:
        _fail_with(error)
    width = max(len(e.id) for e in exercises)
    for exercise in exercises:
        last = api.last_grade(exercise)
        score = f"  (last graded: {last['score']:g}/{last['max_score']:g})" if last else ""
        click.echo(f"{exercise.id:<{width}}  {exercise.title}{score}")
        if exercise.summary:
            click.echo(f"{'':<{width}}  {exercise.summary}")
    shipped = Path(folder).resolve() != Path("exercises").resolve()
    if shipped and not Path("exercises").is_dir():
        click.echo("\nThese ship with the grader. Copy them here to work on them: grade init .")
    else:
        click.echo(f"\nGrade one with: grade {Path(folder) / exercises[0].id}")


@main.command("init")
@click.argument("target", metavar="DIR", type=click.Path(path_type=Path), default=Path("."))
@click.argument("names", metavar="[EXERCISE]...", nargs=-1)
def init(target: Path, names: tuple[str, ...]) -> None:
    """Copy the exercises that ship with the grader into DIR/exercises (default DIR: here).

    Name EXERCISEs (02_multihead ...) to copy only those. An exercise folder already
    there is kept as it is: your work is never overwritten.
    """
    from grader import api

    try:
        copied, kept = api.init_exercises(target=target, names=names)
    except api.GradingError as error:
        _fail_with(error)
    for path in copied:
        click.echo(f"copied  {path}")
    for path in kept:
        click.echo(f"kept    {path} (already there: left as it is)")
    first = (copied or kept)[0]
    click.echo(f"\nStart with: grade {first}" if Path(target).resolve() == Path.cwd().resolve()
               else f"\nStart with: cd {target} && grade {first.relative_to(target)}")


@main.command("gradescope")
@click.argument("exercise_dir", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The autograder zip to write (upload it as the assignment's autograder on Gradescope).")
@_extra_checks_option
@click.option("--seed", default="0", show_default=True,
              help="Seed of the generated test inputs in the bundle; any seed but 0 is a final-grading seed that "
                   "students' results do not show; 'secret' draws one (printed once, here).")
@click.option("--torch", "torch_spec", default=None,
              help="The torch requirement setup.sh installs (CPU build) [default: the version grading here].")
def gradescope_(exercise_dir: Path, output: Path, extra_checks: tuple[Path, ...], seed: str,
                torch_spec: str | None) -> None:
    """Write a Gradescope autograder bundle for EXERCISE_DIR to --output (a .zip).

    The zip holds setup.sh (installs the CPU build of torch and this grader from a wheel in
    the bundle), run_autograder (grades the one uploaded .py file, whatever its name, and
    always writes results.json), the exercise and its extra checks. Upload it under
    "Configure Autograder" (Ubuntu base image).
    """
    from grader import api

    try:
        bundle = api.gradescope_bundle(exercise_dir=exercise_dir, output=output, extra_checks=extra_checks,
                                       seed=seed, torch_spec=torch_spec, progress=lambda line: click.echo(line, err=True))
    except api.GradingError as error:
        _fail_with(error)
    click.echo(f"Wrote {bundle.path} ({bundle.size / 1e6:.1f} MB): {bundle.exercise}, {bundle.checks} checks "
               f"({bundle.hidden} hidden), seed {'hidden: ' + str(bundle.seed) if bundle.seed_hidden else bundle.seed}.")
    click.echo("Upload it on Gradescope: the assignment's Configure Autograder page, 'Zip file upload'.")


@main.command("handout")
@click.argument("exercise_dirs", metavar="EXERCISE_DIR...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder to write the handout into (it must not exist yet, or be empty).")
def handout_(exercise_dirs: tuple[Path, ...], output: Path) -> None:
    """Write a student handout of EXERCISE_DIR... into --output: stubs, READMEs, public checks
    and a grader to run them, with no reference solution and no hidden check in it."""
    from grader import api

    try:
        made = api.handout(exercise_dirs=exercise_dirs, output=output, progress=lambda line: click.echo(line, err=True))
    except api.GradingError as error:
        _fail_with(error)
    for line in made.lines():
        click.echo(line)


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


class ClassProgress:
    """What ``grade class`` shows while it grades, on stderr.

    On a terminal: the start line, then a bar with the count, the rate and the time left
    (students who could not be graded, and warnings, are printed above it). Otherwise
    (a log, a CI job): the start line, then one line per student as each finishes.
    """

    def __init__(self) -> None:
        self.bar = None
        self.began = time.monotonic()
        self.done = 0

    def __call__(self, line: str) -> None:
        """A line that is not a student's (a warning, the start line)."""
        self._above(line)

    def start(self, total: int, line: str) -> None:
        self._above(line)
        if total and sys.stderr.isatty():
            self.began = time.monotonic()
            self.bar = click.progressbar(length=total, label="Grading", file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=self._rate)
            self.bar.__enter__()

    def advance(self, line: str) -> None:
        """One student done: ``line`` says who and how it went."""
        if self.bar is None:
            click.echo(line, err=True)
            return
        if ": not graded:" in line:
            self._above(line)
        self.done += 1
        self.bar.update(1, current_item=line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def _rate(self, line: str | None) -> str:
        elapsed = time.monotonic() - self.began
        if not self.done or elapsed <= 0:
            return ""
        rate = self.done / elapsed
        return f"{rate:.1f}/s" if rate >= 1 else f"{1 / rate:.1f} s each"

    def _above(self, line: str) -> None:
        if self.bar is None:
            click.echo(line, err=True)
            return
        click.echo("\r\x1b[K" + line, err=True)  # over the bar, which is drawn again below
        self.bar.render_progress()


def _grade_class(exercise_dir, submissions, report_dir, seed, isolation, require_isolation, jobs, quiet,
                 junit, **options) -> NoReturn:
    from grader import api
    from grader.run import batch

    say = lambda line: click.echo(line, err=True)  # noqa: E731
    progress = None if quiet else ClassProgress()
    try:
        result = api.grade_class(exercise_dir=exercise_dir, submissions=submissions, report_dir=report_dir,
                                 seed=seed, isolation=isolation, require_isolation=require_isolation,
                                 jobs=jobs, progress=progress, junit=junit, **options)
    except api.GradingError as error:
        _fail_with(error)
    except KeyboardInterrupt:
        if progress:
            progress.close()
        click.echo(f"grade: interrupted. Every submission graded so far is saved in {report_dir}; "
                   "run the same command again to go on from there.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if progress:
            progress.close()
    if quiet:
        for warning in result.warnings:
            say(f"warning: {warning}")
    graded = [entry.result.score for entry in result.graded]
    mean = f"mean {sum(graded) / len(graded):.2f}/{result.max_score:g}, " if graded else ""
    click.echo(f"{batch.closing_line(result)}. {result.exercise}: {mean}"
               f"{sum(e.result.all_passed for e in result.graded)} with full marks, in {result.duration:.1f} s.")
    books = [str(Path(report_dir) / batch.GRADEBOOK)]
    if options.get("gradebook") in batch.LMS_GRADEBOOKS:
        books.append(str(Path(report_dir) / batch.LMS_GRADEBOOKS[options["gradebook"]]))
    click.echo(f"Class report: {Path(report_dir) / 'index.html'}  Gradebook: {'  '.join(books)}")
    sys.exit(EXIT_PASSED)
