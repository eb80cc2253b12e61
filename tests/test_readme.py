"""The README's commands and its example checks, run as a new user (and a new instructor) would run them.

The Instructors section's commands run here as written, in a folder holding what they
name: a Canvas download and roster built with Canvas's own naming (tests/lms_archives.py),
the hidden check the README shows, a class archive. Their outputs are read back with pandas.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from conftest import CORPUS, EXERCISES, ROOT
from lms_archives import Student, canvas_roster, canvas_zip

README = (ROOT / "README.md").read_text()
INSTRUCTORS = README.split("## Instructors")[1].split("\n## ")[0]


def _grade_command(*args: str, cwd) -> subprocess.CompletedProcess:
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    return subprocess.run([*exe.split(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_the_first_command_grades_the_stub_to_zero(tmp_path):
    setup = _bash_blocks()[0]
    assert setup.strip().endswith("grade exercises/02_multihead")
    done = _grade_command("exercises/02_multihead", "--report-dir", str(tmp_path), cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert re.search(r"Score: 0/(\d+)", done.stdout) and "Not implemented yet" in done.stdout


def test_the_test_command_is_plain_pytest():
    assert _bash_blocks()[1].strip() == "python -m pytest"


def _command(*words: str) -> list[str]:
    """The one README command that starts with ``grade`` and has every one of ``words``, split."""
    (command,) = [b.strip() for b in _bash_blocks() if b.strip().startswith("grade")
                  and all(w in b for w in words)]
    return shlex.split(command)


def _copy_exercises(folder) -> None:
    shutil.copytree(EXERCISES, folder / "exercises", ignore=shutil.ignore_patterns("__pycache__", ".*"))


def test_the_class_command_grades_a_folder_of_submissions(tmp_path):
    (command,) = [b.strip() for b in _bash_blocks() if b.strip().startswith("grade class") and "submissions/" in b]
    args = shlex.split(command)[1:]
    assert args[:3] == ["class", "exercises/02_multihead", "submissions/"]
    (tmp_path / "exercises").symlink_to(EXERCISES)
    (tmp_path / "submissions").mkdir()
    shutil.copy(ROOT / "attention_reference" / "multihead.py", tmp_path / "submissions" / "alice.py")
    (tmp_path / "submissions" / "bob").mkdir()
    shutil.copy(CORPUS / "02_multihead" / "buggy" / "no_scale.py", tmp_path / "submissions" / "bob" / "solution.py")
    done = _grade_command(*args, "-j", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 graded, 0 could not be graded, 0 skipped" in done.stdout
    assert (tmp_path / "class-reports" / "grades.csv").is_file() and (tmp_path / "class-reports" / "index.html").is_file()


def test_grade_list_shows_the_exercises():
    done = _grade_command("list", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in ("00_simple_attention", "01_softmax", "02_multihead",
                                                "03_encoder_decoder"))


def test_the_example_check_grades_right_and_wrong_softmax(tmp_path):
    section = README.split("### Writing a check with `grader.kit`")[1]
    (source,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)[:1]
    exercise = tmp_path / "01_mine"
    shutil.copytree(EXERCISES / "01_softmax", exercise, ignore=shutil.ignore_patterns("checks", "__pycache__"))
    (exercise / "checks").mkdir()
    (exercise / "checks" / "test_mine.py").write_text(source)
    right = _grade_command(str(exercise), "--submission", str(ROOT / "attention_reference" / "softmax.py"), "-q",
                           "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert right.returncode == 0 and right.stdout.strip() == "01_softmax: 1/1", right.stdout + right.stderr
    wrong = _grade_command(str(exercise), "--submission", str(CORPUS / "01_softmax" / "buggy" / "sum_over_all.py"),
                           "--report-dir", str(tmp_path / "w"), cwd=tmp_path)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "FAIL" in wrong.stdout and "the sums along dim" in wrong.stdout


# -- Instructors -----------------------------------------------------------------------

CORRECT_MHA = ROOT / "attention_reference" / "multihead.py"
CLASS = [
    Student("Bob", "Jones", {"solution.py": CORRECT_MHA.read_bytes()}, user_id=23456, sis_id="S-1", login="bjones",
            section="A", late=True),
    Student("Alice", "Smith", {"attention.py": (CORPUS / "02_multihead" / "buggy" / "no_scale.py").read_bytes()},
            user_id=12345, sis_id="S-2", login="asmith", section="A"),
    Student("Dan", "Doe", {"a.py": b"x = 1\n", "b.py": b"y = 2\n"}, user_id=45678, sis_id="S-3", section="B"),
    Student("Eve", "Ng", {"solution.txt": b"print(1)\n"}, user_id=56789, sis_id="=HYPERLINK(\"http://x\")",
            section="B"),
]
ABSENT = Student("Gil", "Ox", {}, user_id=77777, sis_id="S-5", login="gox", section="B")


def test_the_lms_round_trip_makes_a_canvas_import_file(tmp_path):
    args = _command("--roster", "--gradebook canvas")
    assert args[:4] == ["grade", "class", "exercises/02_multihead", "submissions.zip"]
    _copy_exercises(tmp_path)
    canvas_zip(tmp_path / "submissions.zip", CLASS)
    canvas_roster(tmp_path / "roster.csv", [*CLASS, ABSENT])
    done = _grade_command(*args[1:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^2 graded, 3 could not be graded \(listed in the class report\), 0 skipped\.", done.stdout, re.M)
    out = tmp_path / "class-reports"
    canvas = pd.read_csv(out / "grades-canvas.csv", dtype=str, keep_default_na=False)
    assert list(canvas.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Multi-head attention"]
    assert canvas.iloc[0]["Student"] == "Points Possible" and float(canvas.iloc[0]["Multi-head attention"]) > 0
    total = canvas.iloc[0]["Multi-head attention"]
    rows = canvas.iloc[1:].set_index("ID")
    assert set(rows.index) == {"23456", "12345", "45678", "56789", "77777"}  # every student, no test student
    assert rows.loc["23456", "Multi-head attention"] == total and rows.loc["23456", "Student"] == "Jones, Bob"
    assert 0 < float(rows.loc["12345", "Multi-head attention"]) < float(total)
    assert all(rows.loc[i, "Multi-head attention"] == "0" for i in ("45678", "56789", "77777"))
    assert rows.loc["56789", "SIS User ID"].startswith("'=")  # a formula is never left for a spreadsheet to run
    book = pd.read_csv(out / "grades.csv", dtype=str, keep_default_na=False).set_index("user_id")
    assert book.loc["45678", "reason"].startswith("two candidate files: a.py, b.py")
    assert book.loc["56789", "reason"].startswith("not Python source")
    assert book.loc["77777", "reason"] == "no submission" and book.loc["23456", "late"] == "yes"
    index = (out / "index.html").read_text()
    assert "two candidate files" in index and "no submission" in index


def test_the_gradescope_command_writes_a_bundle(tmp_path):
    args = _command("gradescope")
    _copy_exercises(tmp_path)
    done = _grade_command(*args[1:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / args[args.index("-o") + 1]) as bundle:
        assert {"setup.sh", "run_autograder"} <= set(bundle.namelist())


def _hidden_check(tmp_path) -> str:
    section = INSTRUCTORS.split("### Hidden checks")[1]
    (source,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (tmp_path / "my-checks").mkdir()
    (tmp_path / "my-checks" / "test_masking.py").write_text(source)
    return ast_title(source)


def ast_title(source: str) -> str:
    import ast

    function = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef))
    return ast.get_docstring(function)


def test_the_hidden_check_example_is_counted_not_shown(tmp_path):
    _copy_exercises(tmp_path)
    title = _hidden_check(tmp_path)
    (command,) = [b.strip() for b in _bash_blocks() if b.strip().startswith("grade exercises/01_softmax --extra")]
    args = shlex.split(command)
    done = _grade_command(*args[1:], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Hidden checks: masking" in done.stdout and "1 of 1 hidden masking check failed." in done.stdout
    assert title not in done.stdout and title not in (tmp_path / "reports" / "01_softmax.html").read_text()


def test_the_secret_seed_command_records_the_seed_for_the_instructor_only(tmp_path):
    args = _command("--seed secret")
    _copy_exercises(tmp_path)
    title = _hidden_check(tmp_path)
    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as package:
        package.write(ROOT / "attention_reference" / "softmax.py", "ada.py")
    done = _grade_command(*args[1:], "-j", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    final = tmp_path / "final"
    seed = json.loads((final / "grading.json").read_text())["seed"]
    assert seed != 0 and str(seed) in (final / "index.html").read_text() and title in (final / "index.html").read_text()
    student = (final / "students" / "ada" / "01_softmax.html").read_text()
    assert str(seed) not in student and title not in student


def test_the_handout_command_writes_a_handout(tmp_path):
    args = _command("handout")
    _copy_exercises(tmp_path)
    done = _grade_command(*args[1:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    handout = tmp_path / args[args.index("-o") + 1]
    assert (handout / "README.md").is_file() and list((handout / "wheels").glob("*.whl"))
    assert sorted(p.name for p in (handout / "exercises").iterdir()) == sorted(
        p.name for p in EXERCISES.iterdir() if (p / "exercise.toml").is_file())


def test_the_init_command_copies_the_exercises_and_grades_one(tmp_path):
    (command,) = [b.strip() for b in _bash_blocks() if b.strip().startswith("grade init")]
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    env = {**os.environ, "PATH": f"{os.path.dirname(exe.split()[0])}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # the stub: graded, 0 points
    assert "Not implemented yet" in done.stdout
    assert (tmp_path / "my-course" / "exercises" / "03_encoder_decoder" / "README.md").is_file()
