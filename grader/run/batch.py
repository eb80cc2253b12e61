"""Grade a whole class: every submission in a folder, one report each, a class summary.

Submissions are found in SUBMISSIONS_DIR as either ``<student>.py`` files or
``<student>/solution.py`` folders. Every submission runs in its own sandboxed
child from a warm forkserver. With ``jobs`` > 1, that many grading workers run
side by side; each is forked from the warm forkserver (torch already imported)
and keeps its own forkserver for the children it starts. Each graded result is
saved as JSON beside its report the moment it is ready, keyed by the
submission's SHA-256, so an interrupted batch resumes where it stopped and a
re-run regrades only what changed. Scores do not depend on ``jobs``: every
submission is graded with the same seed, in a fresh child, the same way.

Layout of REPORT_DIR after a batch::

    index.html                 class summary (links to every student's report)
    grades.csv                 the gradebook: one row per student, one column per check
    <student>/<exercise>.html  the student's report
    <student>/graded.json      the saved result (for resuming; not Gradescope's results.json)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterator

from grader import results, wire
from grader.outputs import gradebook, report
from grader.run import session
from grader.sandbox import forkserver
from grader.spec import Exercise

SAVED_RESULT = "graded.json"
GRADEBOOK = "grades.csv"


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, path) for every submission in ``folder``, sorted by student."""
    found: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.suffix == ".py":
            found.setdefault(safe_name(path.stem), path)
        elif path.is_dir() and (path / "solution.py").is_file():
            found.setdefault(safe_name(path.name), path / "solution.py")
    return sorted(found.items())


def safe_name(name: str) -> str:
    """A file-system-safe student name (no path separators, no leading dots)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name).lstrip(".")
    return cleaned or "unnamed"


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _load_saved(folder: Path, sha: str, seed: int) -> results.GradeResult | None:
    try:   # cleaned again: a result saved by an older grader may hold what a report cannot write
        saved = wire.clean_tree(json.loads((folder / SAVED_RESULT).read_text()))
    except (OSError, ValueError):
        return None
    if saved.get("sha256") != sha or saved.get("result", {}).get("seed") != seed:
        return None
    try:
        return results.GradeResult.from_dict(saved["result"])
    except (KeyError, TypeError):
        return None


def default_jobs() -> int:
    """One grading worker per core (on 2 cores, 2 workers graded a 24-student class 1.8x faster than 1)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def grade_batch(*, exercise: Exercise, submissions_dir: Path, report_dir: Path, seed: int = 0,
                isolation: str = "best", resume: bool = True, jobs: int = 1,
                progress: Callable[[str], None] | None = None) -> results.BatchResult:
    """Grade every submission in ``submissions_dir``; write reports, gradebook and summary.

    ``jobs`` is how many submissions are graded at once. Results are saved as they
    come, so an interrupted batch (Ctrl-C included) keeps everything finished so far.
    """
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    submissions = find_submissions(submissions_dir)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    clock = time.monotonic()
    done: dict[str, results.StudentEntry] = {}

    def finish(student: str, result: results.GradeResult, note: str) -> None:
        page = report.write_student_report(result, report_dir / student)
        done[student] = results.StudentEntry(student=student, result=result,
                                             report=str(page.relative_to(report_dir)))
        if progress:
            progress(f"[{len(done)}/{len(submissions)}] {student}: {result.score:g}/{result.max_score:g}{note}")

    pending: list[tuple[str, Path, str]] = []
    for student, path in submissions:
        folder = report_dir / student
        folder.mkdir(parents=True, exist_ok=True)
        sha = digest(path)
        saved = _load_saved(folder, sha, seed) if resume else None
        if saved is not None:
            finish(student, saved, " (unchanged, kept)")
        else:
            pending.append((student, path, sha))
    hashes = {student: sha for student, _, sha in pending}
    for student, result in _graded(exercise, [(s, p) for s, p, _ in pending], seed, isolation, jobs):
        if not result.flags or not result.flags[0].startswith(session.NOT_GRADED):  # a re-run grades it again
            (report_dir / student / SAVED_RESULT).write_text(json.dumps({"sha256": hashes[student],
                                                                      "result": result.to_dict()}))
        finish(student, result, f" in {result.duration:.1f} s")
    batch = results.BatchResult(exercise=exercise.id, title=exercise.title,
                                entries=tuple(done[student] for student, _ in submissions),
                                started_at=started, duration=round(time.monotonic() - clock, 3))
    gradebook.write_gradebook(batch, report_dir / GRADEBOOK)
    report.write_class_report(batch, report_dir)
    return batch


def _graded(exercise: Exercise, pending: list[tuple[str, Path]], seed: int, isolation: str,
            jobs: int) -> Iterator[tuple[str, results.GradeResult]]:
    """(student, result) for every pending submission, in the order they finish."""
    if jobs <= 1 or len(pending) <= 1:
        for student, path in pending:
            try:
                result = session.grade_submission(exercise=exercise, submission=path, seed=seed,
                                                  isolation=isolation)
            except Exception as error:  # one student's failure never ends the class
                result = session.not_graded(exercise, path, seed, isolation, error)
            yield student, result
        return
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=forkserver.CONTEXT,
                               initializer=forkserver.warm_up)
    try:
        with forkserver.without_main_module():  # the workers start here
            futures = {pool.submit(_grade_in_worker, exercise, path, seed, isolation): student
                       for student, path in pending}
        for future in as_completed(futures):
            try:
                result = results.GradeResult.from_dict(future.result())
            except Exception as error:  # a worker that died or raised: that student only
                path = dict(pending)[futures[future]]
                result = session.not_graded(exercise, path, seed, isolation, error)
            yield futures[future], result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _grade_in_worker(exercise: Exercise, path: Path, seed: int, isolation: str) -> dict:
    """Runs in a grading worker: grade one submission, hand back the result as plain data."""
    return session.grade_submission(exercise=exercise, submission=path, seed=seed,
                                    isolation=isolation).to_dict()
