"""`grade handout`: the handout holds no solution code and no hidden check; its public checks give
the reference solution full marks and the stub 0, with oracles that are not the reference."""

from __future__ import annotations

import ast
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader.cli import main
from grader.run import session
from grader.spec import load_exercise
from test_installed import _run, fresh_venv

pytestmark = pytest.mark.slow

REFERENCES = {"00_simple_attention": "simple_attention.py", "01_softmax": "softmax.py",
              "02_multihead": "multihead.py", "03_encoder_decoder": "encoder_decoder.py"}
PUBLIC = sorted(EXERCISES.glob("*/handout/test_*.py"))


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("made") / "handout"
    outcome = CliRunner().invoke(main, ["handout", *(str(EXERCISES / e) for e in REFERENCES), "-o", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert "Wrote the handout" in outcome.output
    return out


def _solution_lines() -> set[str]:
    """Lines of code of the reference solutions and the mistakes bank that no stub has."""
    stubs = {line.strip() for path in EXERCISES.glob("*/solution.py") for line in path.read_text().splitlines()}
    lines = set()
    for path in (ROOT / "attention_reference").rglob("*.py"):
        for line in path.read_text().splitlines():
            code = line.strip()
            if len(code) >= 24 and not code.startswith(("#", '"', "'", "def ", "class ", "from ", "import ")) \
                    and code not in stubs:
                lines.add(code)
    return lines


def _texts(folder: Path):
    """(name, text) of every file in the handout, and of every file inside its wheels."""
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                for name in wheel.namelist():
                    yield f"{path.name}/{name}", wheel.read(name).decode("utf-8", "replace")
        elif path.is_file() and path.suffix != ".pt":
            yield str(path.relative_to(folder)), path.read_text(encoding="utf-8", errors="replace")


def test_the_handout_holds_no_solution_code(handout):
    solution = _solution_lines()
    assert len(solution) > 100  # the test looks for something
    found = {(name, line) for name, text in _texts(handout) for line in text.splitlines()
             if line.strip() in solution}
    assert not found, sorted(found)[:10]
    names = [name for name, _ in _texts(handout)]
    assert not [n for n in names if "attention_reference" in n or "/mistakes/" in n or n.endswith("record.py")]
    full_checks = {p.name for p in EXERCISES.glob("*/checks/test_*.py")}
    assert not [n for n in names if Path(n).name in full_checks]  # the exercise's own checks stay home
    assert not [n for n, text in _texts(handout) if "mark.hidden" in text and n.endswith(".py")
                and "/checks/" in n]


def test_the_look_for_solution_code_finds_it_when_it_is_there(handout, tmp_path):
    # The check above, shown to catch a leak: a handout with a reference solution copied in.
    leaky = tmp_path / "leaky"
    subprocess.run(["cp", "-r", str(handout), str(leaky)], check=True)
    (leaky / "exercises" / "01_softmax" / "solution.py").write_text((ROOT / "attention_reference" /
                                                                    "softmax.py").read_text())
    solution = _solution_lines()
    assert any(line.strip() in solution for _, text in _texts(leaky) for line in text.splitlines())


@pytest.mark.parametrize("exercise", list(REFERENCES))
def test_the_reference_gets_full_marks_and_the_stub_0_on_the_public_checks(handout, exercise):
    copy = load_exercise(handout / "exercises" / exercise)
    right = session.grade_submission(exercise=copy, submission=ROOT / "attention_reference" / REFERENCES[exercise])
    assert right.score == right.max_score > 0, [(c.check_id, c.summary) for c in right.checks if not c.passed]
    stub = session.grade_submission(exercise=copy)
    assert stub.score == 0 and all(c.kind == "not_implemented" for c in stub.checks)


def test_the_public_checks_catch_a_wrong_multihead(handout):
    copy = load_exercise(handout / "exercises" / "02_multihead")
    wrong = session.grade_submission(exercise=copy, submission=CORPUS / "02_multihead" / "buggy" / "no_scale.py")
    assert wrong.score < wrong.max_score


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.parent.parent.name)
def test_public_checks_import_from_the_grader_only_the_kit_and_never_the_reference(path):
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] if node.module != "grader" else [f"grader.{a.name}" for a in node.names]
    assert not [n for n in names if n.split(".")[0] == "attention_reference"]
    assert all(n == "grader.kit" or n.startswith("grader.kit.") for n in names if n.split(".")[0] == "grader")


def test_a_filled_in_solution_is_refused(tmp_path):
    exercise = tmp_path / "01_softmax"
    subprocess.run(["cp", "-r", str(EXERCISES / "01_softmax"), str(exercise)], check=True)
    (exercise / "solution.py").write_text((ROOT / "attention_reference" / "softmax.py").read_text())
    outcome = CliRunner().invoke(main, ["handout", str(exercise), "-o", str(tmp_path / "out")])
    assert outcome.exit_code == 2 and "is not the stub" in outcome.output
    assert not (tmp_path / "out").exists()


def test_students_install_the_handouts_grader_and_grade_there(handout, tmp_path):
    wheel = next((handout / "wheels").glob("*.whl"))
    venv = fresh_venv(tmp_path, wheel)
    graded = _run(venv, "grade", "exercises/00_simple_attention", "-q", cwd=handout)
    assert graded.returncode == 1 and graded.stdout.startswith("00_simple_attention: 0/"), graded.stderr
    assert _run(venv, "python", "-c", "import attention_reference", cwd=tmp_path).returncode != 0
