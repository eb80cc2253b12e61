"""`grade class` on Moodle and Gradescope downloads, end to end, with the gradebooks read back by
pandas and checked against each LMS's import format. (Canvas: tests/test_readme.py runs the
README's round trip.) 01_softmax keeps the grading short."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader import results
from grader.cli import main
from grader.outputs import gradebook
from lms_archives import Student, gradescope_export, moodle_roster, moodle_zip

RIGHT = (ROOT / "attention_reference" / "softmax.py").read_bytes()
WRONG = (CORPUS / "01_softmax" / "buggy" / "mask_ignored.py").read_bytes()


def _class(tmp_path, archive, *extra):
    out = tmp_path / "out"
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "01_softmax"), str(archive), "--report-dir",
                                        str(out), "-j", "2", *extra])
    assert outcome.exit_code == 0, outcome.output
    return out, outcome.output


def test_a_moodle_download_gives_moodles_grading_worksheet(tmp_path):
    students = [Student("Zoë", "Ng", {"solution.py": RIGHT}, user_id=5001, sis_id="2026-1", email="zoe@uni.example"),
                Student("Zoé", "Ng", {"softmax.py": WRONG}, user_id=5002, sis_id="2026-2", email="zoe2@uni.example")]
    absent = Student("Tim", "Late", {}, user_id=5003, sis_id="2026-3", email="tim@uni.example")
    archive = moodle_zip(tmp_path / "moodle.zip", students, online_text=(absent,))
    roster = moodle_roster(tmp_path / "grades.csv", [*students, absent])
    out, output = _class(tmp_path, archive, "--roster", str(roster), "--gradebook", "moodle")
    assert "2 graded, 1 could not be graded (listed in the class report), 0 skipped" in output
    sheet = pd.read_csv(out / "grades-moodle.csv", dtype=str, keep_default_na=False)
    assert list(sheet.columns) == ["Identifier", "Full name", "Email address", "ID number", "Grade", "Maximum Grade",
                                   "Last modified (grade)", "Feedback comments"]
    rows = sheet.set_index("Identifier")
    assert sorted(rows.index) == ["Participant 5001", "Participant 5002", "Participant 5003"]
    assert rows.loc["Participant 5001", "Email address"] == "zoe@uni.example"
    assert rows.loc["Participant 5001", "Grade"] == rows.loc["Participant 5001", "Maximum Grade"]
    assert float(rows.loc["Participant 5002", "Grade"]) < float(rows.loc["Participant 5002", "Maximum Grade"])
    assert rows.loc["Participant 5003", "Grade"] == "0.00" and "no submission" in rows.loc["Participant 5003",
                                                                                            "Feedback comments"]
    assert all(rows["Last modified (grade)"].str.match(r"\w+day, \d+ \w+ \d{4}, \d+:\d\d [AP]M"))
    per_check = pd.read_csv(out / "grades.csv", dtype=str, keep_default_na=False)
    assert len(per_check) == 3 and set(per_check["student"]) == {"Zoë_Ng", "Zoé_Ng", "Tim_Late"}
    assert (out / "students" / "Zoë_Ng" / "01_softmax.html").is_file()


def test_a_gradescope_export_is_graded_with_each_submitters_identity(tmp_path):
    students = [Student("李", "雷", {"solution.py": RIGHT}, user_id=101, sis_id="9001", email="li@x.edu"),
                Student("韩", "梅", {}, user_id=102, sis_id="9002", email="han@x.edu")]
    out, output = _class(tmp_path, gradescope_export(tmp_path / "export.tar.gz", students))
    assert "1 graded, 1 could not be graded" in output
    book = pd.read_csv(out / "grades.csv", dtype=str, keep_default_na=False).set_index("student")
    assert book.loc["李_雷", "score"] == book.loc["李_雷", "max_score"] and book.loc["李_雷", "sid"] == "9001"
    assert book.loc["韩_梅", "status"] == "not graded" and book.loc["韩_梅", "reason"] == "no submission"
    assert book.loc["韩_梅", "email"] == "han@x.edu"


def test_an_unsafe_archive_is_refused_with_one_line_before_grading(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as package:
        package.writestr("../../outside.py", RIGHT)
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "01_softmax"), str(tmp_path / "evil.zip"),
                                        "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 2
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused" in lines[0] and "'..'" in lines[0]
    assert not (tmp_path.parent / "outside.py").exists()


FORMULAS = ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_every_csv_cell_a_spreadsheet_would_run_is_neutralised(tmp_path, cell):
    result = results.GradeResult(exercise="01_softmax", title="t", submission=cell, checks=(), seed=0,
                                 started_at="2026-12-01T10:00:00+00:00", duration=0, isolation="x", command="")
    entry = results.StudentEntry(student=cell, result=result, identity={"name": cell, "user_id": cell, "sis_id": cell,
                                                                        "email": cell, "participant_id": "7"},
                                 problem=cell, source=cell)
    batch = results.BatchResult(exercise="01_softmax", title="t", entries=(entry,), started_at=result.started_at,
                                duration=0)
    for write in (gradebook.write_gradebook,
                  lambda b, p: gradebook.write_canvas(b, p, assignment=cell),
                  lambda b, p: gradebook.write_moodle(b, p, assignment=cell)):
        path = write(batch, tmp_path / "book.csv")
        table = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
        cells = [c for c in table.to_numpy().ravel() if c]
        assert cells and not [c for c in cells if c.startswith(tuple(gradebook.FORMULA_STARTS))], cells
    # the defence off: the same cell would reach the spreadsheet as a formula
    raw = dataclasses.replace(entry, identity={"name": "=1+2"})
    original = gradebook.neutralise
    try:
        gradebook.neutralise = str
        path = gradebook.write_canvas(dataclasses.replace(batch, entries=(raw,)), tmp_path / "raw.csv", assignment="a")
    finally:
        gradebook.neutralise = original
    assert "=1+2" in pd.read_csv(path, dtype=str, keep_default_na=False)["Student"].tolist()
