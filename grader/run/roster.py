"""A class roster (``--roster CSV``): who should have submitted, with the identities the LMS knows.

Read from the CSV the LMS exports, whichever it is: Canvas's gradebook export
(``Student, ID, SIS User ID, SIS Login ID, Section, ...``; its "Points Possible"
row and "Student, Test" skipped), Moodle's (``First name, Last name, ID number,
Email address, ...``), Gradescope's roster (``Name, SID, Email``) or any CSV with
a name, id or email column. :func:`match` pairs each roster student with an
entry of the class: by LMS id, student number, email or login first, then by
the name written without spaces or punctuation ("Jones, Bob" is Canvas's
``jonesbob``), when that name is unique.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import replace
from pathlib import Path

from grader.run.submissions import NO_SUBMISSION, Entry, printable, safe_id

# identity key -> the column names that hold it, lower case (the first found wins)
COLUMNS = {
    "name": ("student", "name", "full name", "student name"),
    "user_id": ("id",),
    "sis_id": ("sis user id", "id number", "sid", "student id", "student number", "idnumber"),
    "login": ("sis login id", "username", "login", "login id"),
    "section": ("section", "sections"),
    "email": ("email address", "email", "e-mail"),
}
FIRST, LAST = ("first name", "firstname", "given name"), ("last name", "surname", "lastname", "family name")
SKIP_NAMES = ("points possible", "student, test", "test student")
MSG_NOT_ON_ROSTER = "{count} submission{s} not on the roster (graded all the same): {who}"


class RosterError(ValueError):
    """The roster file cannot be read; the message says why and what is expected."""


def read_roster(path: Path) -> list[dict[str, str]]:
    """One identity dict per student in the roster CSV at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"{path}: cannot read the roster ({error}).") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise RosterError(f"{path}: the roster is empty.")
    header = [h.strip().lower() for h in rows[0]]
    where = {key: next((header.index(c) for c in names if c in header), None) for key, names in COLUMNS.items()}
    first = next((header.index(c) for c in FIRST if c in header), None)
    last = next((header.index(c) for c in LAST if c in header), None)
    if all(v is None for v in where.values()) and first is None:
        raise RosterError(f"{path}: no column of names, ids or emails; expected the LMS's export "
                          "(Canvas: Student, ID, SIS User ID, ...; Moodle: First name, Last name, Email address).")
    students = []
    for row in rows[1:]:
        cell = lambda index: printable(row[index].strip()) if index is not None and index < len(row) else ""  # noqa: E731
        identity = {key: cell(index) for key, index in where.items() if cell(index)}
        if "name" not in identity and (cell(first) or cell(last)):
            identity["name"] = " ".join(part for part in (cell(first), cell(last)) if part)
        if not identity or identity.get("name", "").strip().lower() in SKIP_NAMES:
            continue
        students.append(identity)
    return students


def compact(name: str) -> str:
    """``"Jones, Bob"`` and ``jonesbob`` alike: NFC, case-folded, letters and digits only,
    in either order of the words (Canvas writes "Last, First", others "First Last")."""
    words = re.findall(r"\w+", unicodedata.normalize("NFC", name).casefold())
    return "".join(words)


def _keys(identity: dict[str, str]) -> set[str]:
    keys = set()
    for field in ("user_id", "sis_id", "sid", "login"):
        if identity.get(field):
            keys.add(f"id:{identity[field].casefold()}")
    if identity.get("email"):
        keys.add(f"email:{identity['email'].casefold()}")
        keys.add(f"login:{identity['email'].split('@')[0].casefold()}")
    if identity.get("login"):
        keys.add(f"login:{identity['login'].casefold()}")
    return keys


def _names(identity: dict[str, str]) -> set[str]:
    name = identity.get("name", "")
    if not name:
        return set()
    names = {compact(name)}
    if "," in name:  # "Jones, Bob" -> also "bobjones"
        last, _, first = name.partition(",")
        names.add(compact(f"{first} {last}"))
    return names


def match(entries: list[Entry], roster: list[dict[str, str]]) -> tuple[list[Entry], list[str]]:
    """The class's entries with each roster student's identity merged in, plus a "no submission"
    entry for every roster student without one, and warnings for entries not on the roster."""
    by_key: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for index, student in enumerate(roster):
        for key in _keys(student):
            by_key.setdefault(key, index)
        for name in _names(student):
            by_name.setdefault(name, []).append(index)
    matched: dict[int, int] = {}  # roster index -> entry index
    for number, entry in enumerate(entries):
        probe = dict(entry.identity)
        probe.setdefault("login", entry.student)
        hit = next((by_key[k] for k in sorted(_keys(probe)) if k in by_key and by_key[k] not in matched), None)
        if hit is None:
            names = _names(probe) | {compact(entry.student)}
            candidates = {i for n in names for i in by_name.get(n, []) if len(by_name[n]) == 1}
            candidates -= set(matched)
            hit = candidates.pop() if len(candidates) == 1 else None
        if hit is not None:
            matched[hit] = number
    out = list(entries)
    for index, number in matched.items():
        entry = out[number]
        out[number] = replace(entry, identity={**entry.identity, **roster[index]})
    missing = []
    for index, student in enumerate(roster):
        if index not in matched:
            name = student.get("name") or student.get("login") or student.get("email") or student.get("sis_id", "")
            missing.append(Entry(safe_id(name), "(roster)", None, NO_SUBMISSION, dict(student)))
    strangers = [entries[n].student for n in range(len(entries)) if n not in matched.values()]
    warnings = []
    if strangers and roster:
        warnings.append(MSG_NOT_ON_ROSTER.format(count=len(strangers), s="" if len(strangers) == 1 else "s",
                                                 who=", ".join(strangers[:10]) + (", ..." if len(strangers) > 10
                                                                                  else "")))
    return out + missing, warnings
