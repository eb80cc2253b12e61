"""Grade a whole class: every entry of it, one report each, gradebooks and a class summary.

The entries come from :mod:`grader.run.submissions` (and a roster, :mod:`grader.run.roster`):
each is graded, or gets 0 with the reason it could not be. Every submission runs in
its own sandboxed child from a warm forkserver. With ``jobs`` > 1, that many grading
workers run side by side, each forked from the warm forkserver; with a Dask
``scheduler``, the cluster's workers grade instead. Each result is saved the moment
it is ready, keyed by the submission's SHA-256, the seed and the checks, so an
interrupted batch resumes where it stopped and a re-run regrades only what changed.
Scores do not depend on ``jobs``: every submission is graded with the same seed, in a
fresh child, the same way.

Layout of REPORT_DIR after a batch (students' folders are under ``students/``, so no
student's name can take the name of the batch's own outputs)::

    index.html                        the class summary (the instructor's: hidden checks, seed, problems)
    grades.csv                        the gradebook: one row per entry, one column per check
    grades-canvas.csv / grades-moodle.csv   with --gradebook canvas|moodle: the LMS's import format
    grading.json                      how the class was graded (seed, layout, counts, warnings)
    students/<id>/<exercise>.html     the student's report (hidden checks folded, no final seed)
    saved/<id>.json                   the saved full result (for resuming; the instructor's)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator

from grader import __version__, results, wire
from grader.outputs import gradebook, report
from grader.run import session
from grader.run.submissions import Entry, Found
from grader.sandbox import forkserver
from grader.spec import Exercise

STUDENTS = "students"
SAVED = "saved"
GRADEBOOK = "grades.csv"
MANIFEST = "grading.json"
LMS_GRADEBOOKS = {"canvas": "grades-canvas.csv", "moodle": "grades-moodle.csv"}
MSG_DONE = "{graded} graded, {problems} could not be graded{where}, {skipped} skipped"


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checks_fingerprint(exercise: Exercise, extra_checks: tuple[Path, ...] = ()) -> str:
    """A hash of everything that decides a grade besides the submission and the seed."""
    sha = hashlib.sha256(__version__.encode())
    for folder in (exercise.checks_dir, *extra_checks):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                sha.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    sha.update((exercise.root / "exercise.toml").read_bytes())
    return sha.hexdigest()


def _load_saved(path: Path, key: dict) -> results.GradeResult | None:
    try:   # cleaned again: a result saved by an older grader may hold what a report cannot write
        saved = wire.clean_tree(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    if saved.get("key") != key:
        return None
    try:
        return results.GradeResult.from_dict(saved["result"])
    except (KeyError, TypeError):
        return None


def default_jobs() -> int:
    """One grading worker per core (on 2 cores, 2 workers graded a 24-student class 1.8x faster than 1)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def grade_batch(*, exercise: Exercise, found: Found, report_dir: Path, seed: int = 0, seed_hidden: bool = False,
                isolation: str = "best", resume: bool = True, jobs: int = 1, extra_checks: tuple[Path, ...] = (),
                progress: Callable[[str], None] | None = None, gradebook_format: str = "plain",
                assignment: str | None = None, scheduler: str | None = None,
                warnings: tuple[str, ...] = (), devices: tuple[str, ...] | None = None) -> results.BatchResult:
    """Grade every entry of ``found``; write the reports, the gradebooks and the class summary.

    ``jobs`` is how many submissions are graded at once. Results are saved as they
    come, so an interrupted batch (Ctrl-C included) keeps everything finished so far.
    """
    report_dir = Path(report_dir)
    (report_dir / SAVED).mkdir(parents=True, exist_ok=True)
    entries = list(found.entries)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    clock = time.monotonic()
    fingerprint = checks_fingerprint(exercise, extra_checks)
    graded: dict[str, results.GradeResult] = {}
    count = [0]

    def tell(line: str) -> None:
        count[0] += 1
        if progress:
            getattr(progress, "advance", progress)(f"[{count[0]}/{len(entries)}] {line}")

    pending: list[tuple[str, Path, dict]] = []
    kept: list[str] = []
    for entry in entries:
        if entry.path is None:
            continue
        key = {"sha256": digest(entry.path), "seed": seed, "checks": fingerprint}
        if devices is not None and tuple(devices) != ("cpu",):   # graded elsewhere than the CPU: not the same grade
            key["devices"] = list(devices)
        saved = _load_saved(report_dir / SAVED / f"{entry.student}.json", key) if resume else None
        if saved is not None:
            graded[entry.student] = saved
            kept.append(f"{entry.student}: {saved.score:g}/{saved.max_score:g} (unchanged, kept)")
        else:
            pending.append((entry.student, entry.path, key))
    if progress:
        line = start_line(exercise, len(entries), len(pending), len(kept), jobs, scheduler)
        start = getattr(progress, "start", None)
        start(len(entries), line) if start else progress(line)
    for line in kept:
        tell(line)
    keys = {student: key for student, _, key in pending}
    for student, result in _graded(exercise, [(s, p) for s, p, _ in pending], seed, seed_hidden, isolation, jobs,
                                   extra_checks, scheduler, devices):
        failure = _grading_failure(result)
        if failure is None:  # a student whose grading failed is not saved: a re-run grades them again
            _write_json(report_dir / SAVED / f"{student}.json", {"key": keys[student], "result": result.to_dict()})
            tell(f"{student}: {result.score:g}/{result.max_score:g} in {result.duration:.1f} s")
        else:
            tell(f"{student}: not graded: {failure}")
        graded[student] = result
    template = _template_checks(exercise, graded, seed, isolation, extra_checks, entries, devices)
    done = []
    for entry in entries:
        if entry.path is None:
            result = not_graded(exercise, entry, template, seed, seed_hidden)
            tell(f"{entry.student}: not graded: {entry.problem}")
        else:
            result = graded[entry.student]
            failure = _grading_failure(result)
            if failure is not None:  # its grading failed: a row like any entry that could not be graded
                entry = dataclasses.replace(entry, problem=failure)
                result = dataclasses.replace(not_graded(exercise, entry, template, seed, seed_hidden),
                                             flags=result.flags)
        page = report.write_student_report(results.student_view(result), report_dir / STUDENTS / entry.student)
        done.append(results.StudentEntry(student=entry.student, result=result,
                                         report=str(page.relative_to(report_dir)), identity=dict(entry.identity),
                                         problem=entry.problem, source=entry.source))
    batch = results.BatchResult(exercise=exercise.id, title=exercise.title, entries=tuple(done),
                                started_at=started, duration=round(time.monotonic() - clock, 3), seed=seed,
                                seed_hidden=seed_hidden, warnings=tuple(found.warnings) + tuple(warnings),
                                skipped=tuple(found.skipped), layout=found.layout)
    gradebook.write_gradebook(batch, report_dir / GRADEBOOK)
    for warning in gradebook.missing_identities(batch, gradebook_format):
        if progress:
            progress(f"warning: {warning}")
        batch = dataclasses.replace(batch, warnings=batch.warnings + (warning,))
    if gradebook_format in LMS_GRADEBOOKS:
        write = gradebook.write_canvas if gradebook_format == "canvas" else gradebook.write_moodle
        write(batch, report_dir / LMS_GRADEBOOKS[gradebook_format], assignment=assignment or exercise.title)
    report.write_class_report(batch, report_dir)
    _write_json(report_dir / MANIFEST, manifest(batch, extra_checks))
    return batch


def start_line(exercise: Exercise, entries: int, pending: int, kept: int, jobs: int, scheduler: str | None) -> str:
    """"Grading 200 submissions of 02_multihead, 2 at a time (12 unchanged since the last run are kept)"."""
    where = f"on the Dask cluster at {scheduler}" if scheduler else f"{min(jobs, pending) or 1} at a time"
    line = f"Grading {pending} submission{'s' * (pending != 1)} of {exercise.id}, {where}"
    if kept:
        line += f" ({kept} unchanged since the last run {'are' if kept > 1 else 'is'} kept)"
    others = entries - pending - kept
    if others:
        line += f"; {others} entr{'ies' if others > 1 else 'y'} without a submission"
    return line


def closing_line(batch: results.BatchResult) -> str:
    """"58 graded, 2 could not be graded (listed in the class report), 0 skipped"."""
    problems = len(batch.not_graded)
    return MSG_DONE.format(graded=len(batch.graded), problems=problems,
                           where=" (listed in the class report)" if problems else "", skipped=len(batch.skipped))


def manifest(batch: results.BatchResult, extra_checks: tuple[Path, ...]) -> dict:
    """How the class was graded, for the instructor (the seed included: it is in no student's view)."""
    return {"exercise": batch.exercise, "started_at": batch.started_at, "duration": batch.duration,
            "seed": batch.seed, "seed_hidden": batch.seed_hidden, "grader": __version__, "layout": batch.layout,
            "extra_checks": [str(p) for p in extra_checks], "graded": len(batch.graded),
            "not_graded": {e.student: e.problem for e in batch.not_graded}, "skipped": list(batch.skipped),
            "warnings": list(batch.warnings)}


def not_graded(exercise: Exercise, entry: Entry, template: tuple[results.CheckResult, ...], seed: int,
               seed_hidden: bool) -> results.GradeResult:
    """0 on every check, each saying why the entry could not be graded."""
    checks = tuple(dataclasses.replace(check, points=0.0, status=results.FAILED, kind=results.KIND_NOT_GRADED,
                                       summary=f"Not graded: {entry.problem}.", details="", diagnosis=None,
                                       hint=None, mismatch=None, example=None, traceback=(), figures=(),
                                       curves=(), duration=0.0) for check in template)
    return results.GradeResult(exercise=exercise.id, title=exercise.title, submission=entry.source, checks=checks,
                               seed=seed, started_at="", duration=0.0, isolation="none", command="",
                               load_error=f"Not graded: {entry.problem}", seed_hidden=seed_hidden)


def _grading_failure(result: results.GradeResult) -> str | None:
    """Why grading this submission failed (the grader's own failure, not the submission's), or None."""
    for flag in result.flags:
        if flag.startswith(session.NOT_GRADED):
            return "grading failed (" + flag.removeprefix(session.NOT_GRADED).lstrip(": ") + ")"
    return None


def _template_checks(exercise, graded, seed, isolation, extra_checks, entries,
                     devices=None) -> tuple[results.CheckResult, ...]:
    """The checks of the exercise (from any graded result, else from grading the stub once)."""
    for result in graded.values():
        if result.checks:
            return result.checks
    needed = any(e.path is None or _grading_failure(graded[e.student]) for e in entries)
    if not needed or not exercise.solution.is_file():
        return ()
    return session.grade_submission(exercise=exercise, seed=seed, isolation=isolation,
                                    extra_checks=extra_checks, devices=devices, saved_records=False).checks


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    temporary.replace(path)  # a Ctrl-C never leaves half a file


MSG_WORKER_DIED = "its grading worker died, and again when it was graded alone"


def _graded(exercise: Exercise, pending: list[tuple[str, Path]], seed: int, seed_hidden: bool, isolation: str,
            jobs: int, extra_checks: tuple[Path, ...],
            scheduler: str | None, devices=None) -> Iterator[tuple[str, results.GradeResult]]:
    """(student, result) for every pending submission, in the order they finish."""
    if scheduler:
        from grader.run import cluster

        yield from cluster.graded(scheduler, exercise, pending, seed, seed_hidden, isolation, extra_checks)
        return
    if jobs <= 1 or len(pending) <= 1:
        for student, path in pending:
            try:
                result = session.grade_submission(exercise=exercise, submission=path, seed=seed,
                                                  isolation=isolation, extra_checks=extra_checks,
                                                  seed_hidden=seed_hidden, devices=devices, saved_records=False)
            except Exception as error:  # one student's failure never ends the class
                result = session.not_graded(exercise, path, seed, isolation, error)
            yield student, result
        return
    task = functools.partial(_grade_in_worker, exercise, seed=seed, isolation=isolation, extra_checks=extra_checks,
                             seed_hidden=seed_hidden, devices=devices)
    suspects: list[tuple[str, Path]] = []
    for student, path, outcome in _in_pool(pending, task, jobs, suspects):
        yield student, _result_of(outcome, exercise, path, seed, isolation)
    for student, path in suspects:  # each alone, in a fresh worker: a second death is this student's own
        died: list[tuple[str, Path]] = []
        for _, _, outcome in _in_pool([(student, path)], task, 1, died):
            yield student, _result_of(outcome, exercise, path, seed, isolation)
        if died:
            yield student, session.not_graded(exercise, path, seed, isolation, WorkerDied(MSG_WORKER_DIED))


class WorkerDied(RuntimeError):
    """A grading worker (not a sandboxed child: the grader's own process) died while grading."""


def _in_pool(pending: list[tuple[str, Path]], task: Callable[[Path], dict], workers: int,
             suspects: list[tuple[str, Path]]) -> Iterator[tuple[str, Path, dict | BaseException]]:
    """Grade ``pending`` on ``workers`` grading workers; yield (student, path, plain result or error).

    At most one submission per worker is handed out at a time, so the pool's queue stays as
    short as the pool (memory does not grow with the class), and when a worker dies the
    submissions in flight are exactly those that may have killed it: they go to ``suspects``
    (to be retried, each alone), and a fresh pool grades the rest.
    """
    queue = list(reversed(pending))
    while queue:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(queue)), mp_context=forkserver.CONTEXT,
                                   initializer=forkserver.warm_up)
        running: dict[Future, tuple[str, Path]] = {}
        broken = False
        try:
            while queue or running:
                while queue and len(running) < workers and not broken:
                    student, path = queue.pop()
                    try:
                        with forkserver.without_main_module():  # the workers start here
                            running[pool.submit(task, path)] = (student, path)
                    except BrokenProcessPool:  # a worker died before we heard: a fresh pool takes it
                        queue.append((student, path))
                        broken = True
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    student, path = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append((student, path))
                        continue
                    except Exception as error:  # the worker raised: that student only
                        outcome = error
                    yield student, path, outcome
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _result_of(outcome: dict | BaseException, exercise: Exercise, path: Path, seed: int,
               isolation: str) -> results.GradeResult:
    if isinstance(outcome, BaseException):
        return session.not_graded(exercise, path, seed, isolation, outcome)
    try:
        return results.GradeResult.from_dict(outcome)
    except Exception as error:  # a result that does not read back: that student only
        return session.not_graded(exercise, path, seed, isolation, error)


def _grade_in_worker(exercise: Exercise, path: Path, seed: int, isolation: str, extra_checks: tuple[Path, ...] = (),
                     seed_hidden: bool = False, devices: tuple[str, ...] | None = None) -> dict:
    """Runs in a grading worker: grade one submission, hand back the result as plain data."""
    return session.grade_submission(exercise=exercise, submission=path, seed=seed, isolation=isolation,
                                    extra_checks=extra_checks, seed_hidden=seed_hidden, devices=devices,
                                    saved_records=False).to_dict()
