"""The class gradebook (``grades.csv``) of a BatchResult."""

from __future__ import annotations

import csv
from pathlib import Path

from grader import results


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
