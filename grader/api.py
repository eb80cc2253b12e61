"""The package's keyword-only API: everything the ``grade`` command does, callable from Python.

Each verb of the command line is one function here. Errors are :class:`GradingError`
with a one-line message that names the value at fault, never a command-line flag;
``error.param`` says which argument it was, so the command line can name its option.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader import results, wire
from grader.course import library
from grader.outputs import gradescope, junit as junit_xml, report, terminal
from grader.run import archives, batch, cluster, devices, plugin, roster as rosters, session, submissions as found_in
from grader.sandbox import forkserver, probe
from grader.spec import CHECKS, Exercise, ExerciseError, load_exercise

SECRET_SEED = "secret"
GRADEBOOKS = ("plain", "canvas", "moodle")
UNPACKED = "unpacked"  # where an archive of submissions is unpacked, inside the report folder


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
    show_hidden: bool = False

    @property
    def shown(self) -> results.GradeResult:
        """What the terminal, the report and the JUnit file show: the student's view unless asked."""
        return self.result if self.show_hidden else results.student_view(self.result)


def grade(*, exercise_dir: Path, submission: Path | None = None, results_json: Path | None = None,
          report_dir: Path | None = Path("reports"), seed: int = session.DEFAULT_SEED,
          isolation: str = "best", require_isolation: bool = False, junit: Path | None = None,
          extra_checks: tuple[Path, ...] = (), show_hidden: bool = False, seed_hidden: bool = False,
          device: str | None = None) -> Outcome:
    """Grade one submission of one exercise and write its report (and results.json, JUnit XML).

    ``extra_checks``: folders of more checks (hidden from students); ``show_hidden``: the
    terminal, report and JUnit show hidden checks in full (the instructor's view);
    ``seed_hidden``: ``seed`` is a final-grading seed that students' outputs do not show;
    ``device``: "cpu", "cuda" or "all" (None: every device this machine has).
    """
    exercise = _load(exercise_dir, for_student=True)
    on = _devices(device)
    extra_checks = _extra_checks(extra_checks)
    if junit is not None:
        _check_writable(junit, report_dir)
    if submission is not None:
        if not Path(submission).is_file():
            raise GradingError(f"{submission}: no such file.", param="submission")
    elif not exercise.solution.is_file():
        raise GradingError(f"{exercise.solution}: the exercise has no solution.py to grade.")
    isolation = _isolation(isolation, require_isolation)
    try:
        result = session.grade_submission(exercise=exercise, submission=submission, seed=seed, isolation=isolation,
                                          extra_checks=extra_checks, seed_hidden=seed_hidden, devices=on)
    except plugin.ChecksError as error:
        raise GradingError(str(error), param="extra_checks") from None
    outcome = Outcome(result=result, report_path=None, results_json=None, show_hidden=show_hidden)
    shown = outcome.shown
    report_path = report.write_student_report(shown, report_dir) if report_dir is not None else None
    json_path = gradescope.write_results_json(result, results_json) if results_json is not None else None
    junit_path = _write_junit(junit_xml.write_junit, shown, junit) if junit is not None else None
    if submission is None and not exercise.root.is_relative_to(library.PACKAGED):
        library.record_last(exercise.root, score=result.score, max_score=result.max_score, when=result.started_at)
    return Outcome(result=result, report_path=report_path, results_json=json_path, junit=junit_path,
                   show_hidden=show_hidden)


def terminal_summary(outcome: Outcome) -> str:
    return terminal.summary(outcome.shown, report_path=str(outcome.report_path) if outcome.report_path else None)


def grade_class(*, exercise_dir: Path, submissions: Path, report_dir: Path = Path("reports"),
                seed: int | str = session.DEFAULT_SEED, isolation: str = "best", require_isolation: bool = False,
                resume: bool = True, jobs: int | None = None, progress: Callable[[str], None] | None = None,
                junit: Path | None = None, extra_checks: tuple[Path, ...] = (), roster: Path | None = None,
                gradebook: str = "plain", layout: str | None = None, assignment: str | None = None,
                scheduler: str | None = None, device: str | None = None) -> results.BatchResult:
    """Grade a class: ``submissions`` is a folder or an archive (.zip, .tar.gz) in the plain,
    Canvas, Moodle or Gradescope-export layout (``layout`` forces one).

    Every entry, and every student of ``roster``, gets one row of the gradebook: graded, or 0
    with the reason. ``gradebook`` "canvas" or "moodle" also writes that LMS's import file.
    ``seed`` other than the default is the instructor's final-grading seed ("secret": a random
    one, kept in REPORT_DIR/grading.json so that a re-run uses it again); students' reports
    never show it. ``jobs`` submissions are graded at once (None: one per core), or a Dask
    ``scheduler``'s workers grade them. ``junit``: also write every student's result to one file.
    ``device``: as for :func:`grade` (a Dask worker grades on what its own machine has).
    """
    exercise = _load(exercise_dir)
    on = _devices(device) if device is not None else None
    extra_checks = _extra_checks(extra_checks)
    if jobs is not None and jobs < 1:
        raise GradingError(f"{jobs}: give a number of workers, 1 or more.", param="jobs")
    if gradebook not in GRADEBOOKS:
        raise GradingError(f"{gradebook}: choose one of {', '.join(GRADEBOOKS)}.", param="gradebook")
    if layout is not None and layout not in found_in.LAYOUTS:
        raise GradingError(f"{layout}: choose one of {', '.join(found_in.LAYOUTS)}.", param="layout")
    if junit is not None:
        _check_writable(junit, report_dir)
    people = _roster(roster)
    isolation = _isolation(isolation, require_isolation, batch=True)
    report_dir = Path(report_dir)
    seed_value, seed_hidden = _class_seed(seed, report_dir)
    folder = _unpacked(Path(submissions), report_dir)
    try:
        found = found_in.find(folder, layout=layout)
    except ValueError as error:
        raise GradingError(str(error), param="submissions") from None
    warnings: list[str] = []
    entries = list(found.entries)
    if people is not None:
        entries, roster_warnings = rosters.match(entries, people)
        entries, more = found_in.unique(entries)
        warnings += roster_warnings + more
    if not entries:
        raise GradingError(f"{submissions}: no submissions found (expected <student>.py files, <student>/ folders, "
                           "or an LMS download: Canvas, Moodle or a Gradescope export).", param="submissions")
    found = found_in.Found(layout=found.layout, entries=tuple(entries), skipped=found.skipped,
                           warnings=found.warnings)
    if progress:
        for warning in (*found.warnings, *warnings):
            progress(f"warning: {warning}")
    try:
        graded = batch.grade_batch(exercise=exercise, found=found, report_dir=report_dir, seed=seed_value,
                                   seed_hidden=seed_hidden, isolation=isolation, resume=resume,
                                   jobs=jobs or batch.default_jobs(), extra_checks=extra_checks, progress=progress,
                                   gradebook_format=gradebook, assignment=assignment, scheduler=scheduler,
                                   warnings=tuple(warnings), devices=on)
    except plugin.ChecksError as error:
        raise GradingError(str(error), param="extra_checks") from None
    except cluster.ClusterError as error:
        raise GradingError(str(error), param="scheduler") from None
    if junit is not None:
        _write_junit(junit_xml.write_batch_junit, graded, junit)
    return graded


def _class_seed(seed: int | str, report_dir: Path) -> tuple[int, bool]:
    """(the seed, whether it is the instructor's): "secret" draws one, or reuses the one drawn before."""
    if seed == SECRET_SEED:
        try:
            manifest = json.loads((report_dir / batch.MANIFEST).read_text())
            if manifest.get("seed_hidden") and isinstance(manifest.get("seed"), int):
                return manifest["seed"], True
        except (OSError, ValueError):
            pass
        return secrets.randbelow(2**31 - 1) + 1, True
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise GradingError(f"{seed}: give a whole number, or '{SECRET_SEED}' for a random final-grading seed.",
                           param="seed") from None
    return value, value != session.DEFAULT_SEED


def _unpacked(submissions: Path, report_dir: Path) -> Path:
    """The folder of submissions: ``submissions`` itself, or the archive unpacked into the report folder."""
    if submissions.is_dir():
        return submissions
    if archives.is_archive(submissions):
        target = report_dir / UNPACKED
        if target.exists():
            shutil.rmtree(target)
        try:
            return archives.extract(submissions, target)
        except archives.ArchiveError as error:
            raise GradingError(str(error), param="submissions") from None
    if submissions.exists():
        raise GradingError(f"{submissions}: not a folder or an archive (.zip, .tar.gz) of submissions.",
                           param="submissions")
    raise GradingError(f"{submissions}: no such folder or archive.", param="submissions")


def _roster(path: Path | None) -> list[dict[str, str]] | None:
    if path is None:
        return None
    try:
        return rosters.read_roster(path)
    except rosters.RosterError as error:
        raise GradingError(str(error), param="roster") from None


def _extra_checks(folders) -> tuple[Path, ...]:
    out = []
    for folder in folders or ():
        folder = Path(folder)
        if not folder.is_dir():
            raise GradingError(f"{folder}: no such folder of checks.", param="extra_checks")
        if not any(folder.rglob("test_*.py")) and not any(folder.rglob("check_*.py")):
            raise GradingError(f"{folder}: no checks in it (files named test_*.py, written like an exercise's "
                               f"{CHECKS}/).", param="extra_checks")
        out.append(folder.resolve())
    return tuple(out)


def gradescope_bundle(*, exercise_dir: Path, output: Path, extra_checks: tuple[Path, ...] = (),
                      seed: int | str = session.DEFAULT_SEED, torch_spec: str | None = None,
                      progress: Callable[[str], None] | None = None):
    """Write the Gradescope autograder zip for ``exercise_dir`` (see :mod:`grader.course.gradescope`).

    The exercise's stub is graded once with the extra checks, so a bundle whose checks do not
    run is refused here rather than on Gradescope; it also counts the checks.
    """
    from grader.course import gradescope as bundles

    exercise = _load(exercise_dir)
    extra_checks = _extra_checks(extra_checks)
    if Path(output).suffix != ".zip":
        raise GradingError(f"{output}: the bundle is a zip file; give a name ending in .zip.", param="output")
    if seed == SECRET_SEED:
        value, hidden = secrets.randbelow(2**31 - 1) + 1, True
    else:
        value, hidden = _class_seed(seed, Path("."))
    checks: tuple[results.CheckResult, ...] = ()
    if exercise.solution.is_file():
        if progress:
            progress(f"Grading {exercise.id}'s stub once, to check that every check runs...")
        try:
            checks = session.grade_submission(exercise=exercise, seed=value, extra_checks=extra_checks).checks
        except plugin.ChecksError as error:
            raise GradingError(str(error), param="extra_checks") from None
        broken = [c.check_id for c in checks if c.kind == results.KIND_INTERNAL]
        if broken:
            raise GradingError(f"these checks break on the stub ({', '.join(broken)}): fix them before uploading.",
                               param="extra_checks")
    return bundles.write_bundle(exercise=exercise, output=Path(output), extra_checks=extra_checks, seed=value,
                                seed_hidden=hidden, torch_spec=torch_spec, checks=len(checks),
                                hidden=sum(c.hidden for c in checks))


def handout(*, exercise_dirs: tuple[Path, ...], output: Path, progress: Callable[[str], None] | None = None):
    """Write the students' handout of ``exercise_dirs`` into ``output`` (see :mod:`grader.course.handout`)."""
    from grader.course import handout as handouts

    exercises = [_load(path) for path in exercise_dirs]
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise GradingError(f"{output}: already there and not empty; give a new folder (nothing is overwritten).",
                           param="output")
    try:
        return handouts.write_handout(exercises=exercises, output=output, progress=progress)
    except handouts.HandoutError as error:
        raise GradingError(str(error)) from None


def default_exercises() -> Path:
    """``./exercises`` when there is one, else the exercises shipped in the package."""
    here = Path("exercises")
    if here.is_dir():
        return here
    shipped = library.home()
    if shipped is None:
        raise GradingError("no ./exercises folder here, and this installation ships none.", param="folder")
    return shipped


def last_grade(exercise: Exercise) -> dict | None:
    """The last score ``grade`` gave the exercise's own solution.py, if it was graded."""
    return library.last(exercise.root)


def init_exercises(*, target: Path, names: tuple[str, ...] = ()) -> tuple[list[Path], list[Path]]:
    """Copy the shipped exercises (or those named) into ``target/exercises``: (copied, kept as they were)."""
    if Path(target).exists() and not Path(target).is_dir():
        raise GradingError(f"{target}: not a folder.", param="target")
    try:
        return library.copy_out(Path(target), names)
    except FileNotFoundError:
        raise GradingError("this installation ships no exercises (reinstall the package).") from None
    except KeyError as error:
        raise GradingError(f"no shipped exercise called {error.args[0]}; `grade list` lists them.",
                           param="names") from None


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


MSG_NOT_HERE = ("{path}: no such folder. The exercises ship with the grader: `grade init .` copies them "
               "into ./exercises (then: grade exercises/{name}); `grade list` lists them.")


def _load(exercise_dir: Path, *, for_student: bool = False) -> Exercise:
    """The exercise at ``exercise_dir``; an instructor's command may also name a shipped one
    (``02_multihead``). A student's never grades inside the installed package: it says how to copy it out."""
    forkserver.warm_up()  # the forkserver imports torch while we go on
    path = Path(exercise_dir)
    if not path.exists():
        shipped = library.shipped(str(exercise_dir))
        if shipped is not None and not for_student:
            path = shipped
        elif shipped is not None:
            raise GradingError(MSG_NOT_HERE.format(path=exercise_dir, name=shipped.name))
    try:
        return load_exercise(path)
    except ExerciseError as error:
        raise GradingError(str(error)) from None


def _devices(device: str | None) -> tuple[str, ...]:
    """The devices ``--device`` asks for, refused in one line where this machine lacks them."""
    try:
        return devices.resolve(device)
    except devices.DeviceError as error:
        raise GradingError(str(error), param="device") from None


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
