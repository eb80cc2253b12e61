"""Real archives in the layouts the LMSs download, built the way each one names its files.

- Canvas, "Download Submissions": one flat zip; each file is
  ``<name>[_LATE]_<user id>_<attachment id>_<file name as uploaded>``, the name being the
  student's sortable name lower-cased with everything but letters and digits removed
  ("Jones, Bob" -> ``jonesbob``); a resubmitted file's name gets ``-1``, ``-2``.
- Moodle, "Download all submissions" (3.1 and later, "download as folders"): one folder
  per student and plugin, ``<Full Name>_<participant id>_assignsubmission_<plugin>_/``
  holding the files as uploaded (``_`` in names become spaces).
- Gradescope, "Export Submissions": ``assignment_<id>_export/`` holding
  ``submission_metadata.yml`` (keys ``submission_<id>``, each with ``:submitters:`` of
  ``:name:``, ``:sid:``, ``:email:``, as Gradescope writes them) and ``submission_<id>/``
  folders with the files as uploaded.
"""

from __future__ import annotations

import io
import re
import tarfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Student:
    first: str
    last: str
    files: dict[str, bytes]          # file name as uploaded -> content ({} = no submission)
    user_id: int = 0                 # Canvas user id / Moodle participant id / Gradescope submission id
    sis_id: str = ""
    login: str = ""
    email: str = ""
    section: str = ""
    late: bool = False

    @property
    def sortable(self) -> str:
        return f"{self.last}, {self.first}"

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def canvas_name(student: Student) -> str:
    """Canvas's file-name prefix: the sortable name, lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKD", student.sortable).encode("ascii", "ignore")
                  .decode().lower())


def canvas_zip(path: Path, students: list[Student]) -> Path:
    with zipfile.ZipFile(path, "w") as package:
        attachment = 900_000
        for student in students:
            for name, data in student.files.items():
                attachment += 1
                late = "_LATE" if student.late else ""
                package.writestr(f"{canvas_name(student)}{late}_{student.user_id}_{attachment}_{name}", data)
    return path


def canvas_roster(path: Path, students: list[Student]) -> Path:
    """Canvas's gradebook export: identity columns, a Points Possible row, the test student."""
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (5501)",
             "    Points Possible,,,,,10"]
    for s in students:
        lines.append(f'"{s.sortable}",{s.user_id},{s.sis_id},{s.login},{s.section},')
    lines.append('"Student, Test",999,,,Section A,')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def moodle_zip(path: Path, students: list[Student], *, online_text: tuple[Student, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as package:
        for student in students:
            prefix = f"{student.full.replace('_', ' ')}_{student.user_id}_assignsubmission_file_"
            for name, data in student.files.items():
                package.writestr(f"{prefix}/{name}", data)
        for student in online_text:
            prefix = f"{student.full.replace('_', ' ')}_{student.user_id}_assignsubmission_onlinetext_"
            package.writestr(f"{prefix}/onlinetext.html", "<p>I could not finish.</p>")
    return path


def moodle_roster(path: Path, students: list[Student]) -> Path:
    """Moodle's gradebook export (CSV): First name, Last name, ID number, Email address, ..."""
    lines = ["First name,Last name,ID number,Institution,Department,Email address,"
             "Assignment: Attention (Real),Last downloaded from this course"]
    lines += [f"{s.first},{s.last},{s.sis_id},,,{s.email},-,1764580000" for s in students]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gradescope_export(path: Path, students: list[Student]) -> Path:
    """Gradescope's export as a .tar.gz (a real export is a zip; both are accepted)."""
    metadata, files = [], {}
    for student in students:
        key = f"submission_{student.user_id}"
        metadata += [f"{key}:", "  :submitters:", f"  - :name: {student.full}", f"    :sid: '{student.sis_id}'",
                     f"    :email: {student.email}", "  :created_at: 2026-11-30 23:59:00.000000000 -08:00",
                     "  :score: ", "  :status: processed"]
        for name, data in student.files.items():
            files[f"assignment_4242_export/{key}/{name}"] = data
        if not student.files:
            files[f"assignment_4242_export/{key}/"] = None
    files["assignment_4242_export/submission_metadata.yml"] = ("\n".join(metadata) + "\n").encode()
    with tarfile.open(path, "w:gz") as package:
        for name, data in files.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if data is None:
                info.type = tarfile.DIRTYPE
                package.addfile(info)
            else:
                info.size = len(data)
                package.addfile(info, io.BytesIO(data))
    return path
