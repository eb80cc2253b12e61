"""The class's gradebooks, from a BatchResult: ``grades.csv`` (one column per check) and the
import formats of Canvas and Moodle (their identity columns and one assignment column).

- Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section`` and one
  column per assignment (``Name (assignment id)`` matches an existing one), with a
  "Points Possible" row under the header. Canvas matches rows by ID, SIS User ID or SIS Login ID.
- Moodle: the assignment's grading worksheet (``Identifier`` "Participant N", ``Grade``,
  ``Last modified (grade)``, uploaded under "Upload grading worksheet"), whose ``Email address``
  and ``ID number`` columns also let the gradebook's CSV import map one column to a user field.

Every cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or CR) is written with a leading ``'``, in every CSV.
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path

from grader import results

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
IDENTITY_COLUMNS = ("name", "user_id", "sis_id", "login", "section", "email", "participant_id", "submission_id",
                    "sid", "late")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS = "Points Possible"
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "ID number", "Grade", "Maximum Grade",
                  "Last modified (grade)", "Feedback comments")
MSG_NO_CANVAS_ID = ("{count} of {total} rows of the Canvas gradebook have no Canvas ID, SIS User ID or SIS Login ID "
                    "({who}): Canvas cannot match them; give --roster with Canvas's gradebook export.")
MSG_NO_MOODLE_ID = ("{count} of {total} rows of the Moodle gradebook have no participant id, email or ID number "
                    "({who}): Moodle cannot match them; give --roster with Moodle's participants or grades export.")


def neutralise(cell: object) -> str:
    """``cell`` as CSV text that no spreadsheet runs as a formula."""
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _write(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([neutralise(cell) for cell in row])
    return Path(path)


def _points(value: float) -> str:
    return f"{value:g}"


def check_ids(batch: results.BatchResult) -> list[str]:
    ids: list[str] = []
    for entry in batch.entries:
        for check in entry.result.checks:
            if check.check_id not in ids:
                ids.append(check.check_id)
    return ids


def write_gradebook(batch: results.BatchResult, path: Path) -> Path:
    """``grades.csv``: id, score, max_score, the points of every check, where the submission came
    from, whether it was graded (and why not), then the identities the LMS or roster gave."""
    ids = check_ids(batch)
    identity = [c for c in IDENTITY_COLUMNS if any(e.identity.get(c) for e in batch.entries)]
    rows: list[list[object]] = [["student", "score", "max_score", *ids, "submission", "status", "reason", *identity]]
    for entry in batch.entries:
        points = {c.check_id: c.points for c in entry.result.checks}
        rows.append([entry.student, _points(entry.result.score), _points(batch.max_score),
                     *(_points(points.get(c, 0)) for c in ids), entry.source or entry.result.submission,
                     "graded" if entry.problem is None else "not graded", entry.problem or "",
                     *(entry.identity.get(c, "") for c in identity)])
    return _write(path, rows)


def write_canvas(batch: results.BatchResult, path: Path, *, assignment: str) -> Path:
    """Canvas's gradebook import: its identity columns and one column, ``assignment``, with the total."""
    rows: list[list[object]] = [[*CANVAS_COLUMNS, assignment], [CANVAS_POINTS, "", "", "", "", _points(batch.max_score)]]
    for entry in batch.entries:
        who = entry.identity
        rows.append([who.get("name", entry.student), who.get("user_id", ""), who.get("sis_id", who.get("sid", "")),
                     who.get("login", ""), who.get("section", ""), _points(entry.result.score)])
    return _write(path, rows)


def write_moodle(batch: results.BatchResult, path: Path, *, assignment: str) -> Path:
    """Moodle's grading worksheet, with the email and ID number the gradebook import can map to."""
    when = _moodle_date(batch.started_at)
    rows: list[list[object]] = [list(MOODLE_COLUMNS)]
    for entry in batch.entries:
        who = entry.identity
        participant = who.get("participant_id", "")
        rows.append([f"Participant {participant}" if participant else "", who.get("name", entry.student),
                     who.get("email", ""), who.get("sis_id", who.get("sid", "")), f"{entry.result.score:.2f}",
                     f"{batch.max_score:.2f}", when, feedback(entry, assignment)])
    return _write(path, rows)


def feedback(entry: results.StudentEntry, assignment: str) -> str:
    """One line for the LMS's feedback comment (the student's view: hidden checks only counted)."""
    if entry.problem:
        return f"{assignment}: not graded: {entry.problem}."
    view = results.student_view(entry.result)
    failed = [c.title for c in view.checks if not c.passed]
    head = f"{assignment}: {_points(view.score)}/{_points(view.max_score)}"
    return f"{head}, every check passed." if not failed else f"{head}; failed: {'; '.join(failed)}."


def _moodle_date(iso: str) -> str:
    """Moodle's own date form in its worksheets: "Monday, 1 December 2026, 10:30 AM"."""
    try:
        when = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return "-"
    return when.strftime("%A, %-d %B %Y, %-I:%M %p")


def missing_identities(batch: results.BatchResult, gradebook_format: str) -> list[str]:
    """Warnings about rows the LMS could not match to a student."""
    if gradebook_format == "canvas":
        keys, message = ("user_id", "sis_id", "sid", "login"), MSG_NO_CANVAS_ID
    elif gradebook_format == "moodle":
        keys, message = ("participant_id", "email", "sis_id", "sid"), MSG_NO_MOODLE_ID
    else:
        return []
    missing = [e.student for e in batch.entries if not any(e.identity.get(k) for k in keys)]
    if not missing:
        return []
    who = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    return [message.format(count=len(missing), total=len(batch.entries), who=who)]
