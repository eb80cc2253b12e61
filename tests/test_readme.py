"""The README's commands and its example check, run as a new user would run them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

from conftest import CORPUS, EXERCISES, ROOT

README = (ROOT / "README.md").read_text()


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


def test_the_class_command_grades_a_folder_of_submissions(tmp_path):
    (command,) = [b.strip() for b in _bash_blocks() if b.strip().startswith("grade class")]
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
