"""Grade a whole class: every submission in a folder, one report each, a class summary.

Submissions are found in SUBMISSIONS_DIR as either ``<student>.py`` files or
``<student>/solution.py`` folders. Every submission runs in its own sandboxed
child from the same warm forkserver. Each graded result is saved as JSON beside
its report, keyed by the submission's SHA-256, so an interrupted batch resumes
where it stopped and a re-run regrades only what changed.

Layout of REPORT_DIR after a batch::

    index.html                 class summary (links to every student's report)
    grades.csv                 the gradebook: one row per student, one column per check
    <student>/<exercise>.html  the student's report
    <student>/result.json      the saved result (for resuming)
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Callable

from grader import grading, report, results
from grader.exercise import Exercise

RESULT_FILE = "result.json"
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
    try:
        saved = json.loads((folder / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return None
    if saved.get("sha256") != sha or saved.get("result", {}).get("seed") != seed:
        return None
    try:
        return results.GradeResult.from_dict(saved["result"])
    except (KeyError, TypeError):
        return None


def grade_batch(*, exercise: Exercise, submissions_dir: Path, report_dir: Path, seed: int = 0,
                isolation: str = "best", resume: bool = True,
                progress: Callable[[str], None] | None = None) -> results.BatchResult:
    """Grade every submission in ``submissions_dir``; write reports, gradebook and summary."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    submissions = find_submissions(submissions_dir)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    clock = time.monotonic()
    entries = []
    for number, (student, path) in enumerate(submissions, start=1):
        folder = report_dir / student
        folder.mkdir(parents=True, exist_ok=True)
        sha = digest(path)
        result = _load_saved(folder, sha, seed) if resume else None
        reused = result is not None
        if result is None:
            result = grading.grade_submission(exercise=exercise, submission=path, seed=seed, isolation=isolation)
            (folder / RESULT_FILE).write_text(json.dumps({"sha256": sha, "result": result.to_dict()}))
        page = report.write_student_report(result, folder)
        entries.append(results.StudentEntry(student=student, result=result,
                                            report=str(page.relative_to(report_dir))))
        if progress:
            note = " (unchanged, kept)" if reused else f" in {result.duration:.1f} s"
            progress(f"[{number}/{len(submissions)}] {student}: {result.score:g}/{result.max_score:g}{note}")
    batch = results.BatchResult(exercise=exercise.id, title=exercise.title, entries=tuple(entries),
                                started_at=started, duration=round(time.monotonic() - clock, 3))
    write_gradebook(batch, report_dir / GRADEBOOK)
    report.write_class_report(batch, report_dir)
    return batch


def write_gradebook(batch: results.BatchResult, path: Path) -> Path:
    """The CSV gradebook: student, score, max_score, then the points of every check."""
    check_ids: list[str] = []
    for entry in batch.entries:
        for check in entry.result.checks:
            if check.check_id not in check_ids:
                check_ids.append(check.check_id)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", *check_ids, "submission"])
        for entry in batch.entries:
            points = {c.check_id: c.points for c in entry.result.checks}
            writer.writerow([entry.student, f"{entry.result.score:g}", f"{entry.result.max_score:g}",
                             *(f"{points.get(c, 0):g}" for c in check_ids), entry.result.submission])
    return path
