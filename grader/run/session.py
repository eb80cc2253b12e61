"""Grade one submission: run an exercise's checks against it in a pytest session and collect
a GradeResult.

The checks run here, in the trusted process, under pytest with the grading plugin
(:mod:`grader.run.plugin`); the submission runs only in its sandboxed child.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import gc
import io
import multiprocessing.util
import os
import platform
import shlex
import shutil
import tempfile
import time
from pathlib import Path

import numpy
import pytest
import torch
from hypothesis.configuration import set_hypothesis_home_dir

from grader import __version__, results, wire
from grader.run import banned, devices as devices_, plugin
from grader.sandbox.proxy import SubmissionRunner
from grader.spec import Exercise

DEFAULT_SEED = 0
NOT_GRADED = "not graded"


def versions() -> dict[str, str]:
    return {"grader": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def reproduce_command(exercise: Exercise, submission: Path, seed: int, extra_checks: tuple[Path, ...] = ()) -> str:
    parts = ["grade", _display_path(exercise.root)]
    if Path(submission).resolve() != exercise.solution.resolve():
        parts += ["--submission", _display_path(Path(submission))]
    for folder in extra_checks:
        parts += ["--extra-checks", _display_path(Path(folder))]
    if seed != DEFAULT_SEED:
        parts += ["--seed", str(seed)]
    return shlex.join(parts)


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def grade_submission(*, exercise: Exercise, submission: Path | None = None, seed: int = DEFAULT_SEED,
                     isolation: str = "best", quiet: bool = True, extra_checks: tuple[Path, ...] = (),
                     seed_hidden: bool = False, devices: tuple[str, ...] | None = None,
                     saved_records: bool = True) -> results.GradeResult:
    """Run every check of ``exercise`` against ``submission`` (default: its solution.py).

    Checks start from the examples an earlier submission passed them on (:mod:`grader.run.replay`):
    recorded in this process, and with ``saved_records`` also those saved in the user's cache
    folder by an earlier process (a class is graded from its own records only).

    ``devices``: what the PyTorch checks run on (None: every device this machine has; see
    :mod:`grader.run.devices`). A NumPy exercise runs on the CPU alone.

    ``extra_checks``: folders of the instructor's own checks, run too and hidden from students.
    ``seed_hidden``: the seed is the instructor's final-grading seed (students' views omit it).
    """
    submission = Path(submission or exercise.solution)
    extra_checks = tuple(Path(folder).resolve() for folder in extra_checks)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    clock = time.monotonic()
    devices = devices_.for_exercise(exercise, devices)
    runner = SubmissionRunner(submission=submission, limits=exercise.limits, banned=exercise.banned,
                              isolation=isolation, cuda=devices_.child_settings(devices, exercise.limits.memory_mib))
    findings = banned.scan_source(runner.source, exercise.banned)
    static = tuple(f.name for f in findings if f.certain)
    unsure = tuple(f.reason for f in findings if not f.certain)
    session = plugin.GradingSession(exercise=exercise, runner=runner, static_banned=static, static_unsure=unsure,
                                    extra_dirs=extra_checks, devices=devices, saved_records=saved_records)
    try:
        _run_pytest(exercise, seed, plugin.GradingPlugin(session), quiet=quiet, extra_checks=extra_checks)
    finally:
        runner.close()
    return results.GradeResult(
        exercise=exercise.id,
        title=exercise.title,
        submission=str(submission),
        checks=tuple(session.checks),
        seed=seed,
        started_at=started,
        duration=round(time.monotonic() - clock, 3),
        isolation=runner.isolation,
        command=reproduce_command(exercise, submission, seed, extra_checks),
        versions=versions() | devices_.versions(devices),
        devices=devices,
        student_output=runner.output,
        load_error=runner.refusal or runner.hello.load_error,
        flags=tuple(f"banned-call scan: the solution {reason}" for reason in unsure),
        seed_hidden=seed_hidden,
    )


def not_graded(exercise: Exercise, submission: Path, seed: int, isolation: str,
               error: BaseException) -> results.GradeResult:
    """The result of a submission whose grading itself failed: no points, the reason, flagged."""
    reason = wire.clean_text(f"{type(error).__name__}: {error}")[:500]
    return results.GradeResult(
        exercise=exercise.id, title=exercise.title, submission=str(submission), checks=(), seed=seed,
        started_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), duration=0.0,
        isolation=isolation, command=reproduce_command(exercise, submission, seed), versions=versions(),
        load_error=f"Grading this submission failed ({reason}); it was not graded.",
        flags=(f"{NOT_GRADED}: {reason}",))


@functools.cache
def _scratch_hypothesis_home() -> str:
    """A throwaway folder for whatever Hypothesis stores (failure patches, caches).

    Grading writes nothing to the working directory: no example database, and the
    patches Hypothesis saves after a failing run go here and are removed when the process ends (a batch worker too).
    """
    path = tempfile.mkdtemp(prefix="grade-hypothesis-")
    # A multiprocessing finalizer, not atexit: a batch worker ends without running atexit.
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(path,), kwargs={"ignore_errors": True},
                                  exitpriority=10)
    return path


@functools.cache
def _freeze_imports() -> None:
    """Keep what is imported before the first grading (torch above all) out of every garbage collection.

    It lives for the whole process: freezing it keeps the full collections that Hypothesis
    and pytest ask for from walking it. Once per process: freezing again before each
    grading of a batch worker would freeze the garbage the previous one left (about 3 MiB
    a submission, for good), so the workers' memory would grow with the class.
    """
    gc.freeze()


def _run_pytest(exercise: Exercise, seed: int, grading_plugin: plugin.GradingPlugin, *, quiet: bool,
                extra_checks: tuple[Path, ...] = ()) -> int:
    args = [
        str(exercise.checks_dir),
        *(str(folder) for folder in extra_checks),
        "--rootdir", str(exercise.root),
        "-c", os.devnull,
        "--import-mode=importlib",
        # Only the plugins grading needs, whatever else is installed: the same
        # checks run the same way everywhere, and nothing writes to the cwd.
        "--disable-plugin-autoload",
        "-p", "_hypothesis_pytestplugin",
        "-p", "no:cacheprovider",
        "-p", "no:unraisableexception",  # its gc.collect() per test costs more than the checks
        "-p", "no:threadexception",
        "--capture=sys",
        "-q",
        "--no-header",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
        f"--hypothesis-seed={seed}",
        "-o", "python_files=test_*.py check_*.py",
    ]
    if quiet:
        # No traceback text nobody reads: Hypothesis formats one (through pytest) for every
        # failing example it tries while shrinking, which doubled the time of a wrong submission.
        args.append("--tb=no")
    # One intra-op thread: on small machines the grader's and the child's OpenMP
    # threads otherwise fight, and every small reference op pays for it.
    set_hypothesis_home_dir(_scratch_hypothesis_home())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _freeze_imports()
    sink = io.StringIO()
    redirect = contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext()
    try:
        with redirect:
            code = pytest.main(args, plugins=[grading_plugin])
    finally:
        torch.set_num_threads(threads)
    if grading_plugin.session.collision:
        raise plugin.ChecksError(grading_plugin.session.collision)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not grading_plugin.session.checks:
        raise RuntimeError(f"running the checks of {exercise.id} failed (pytest exit {code}):\n"
                           + sink.getvalue()[-4000:])
    return int(code)
