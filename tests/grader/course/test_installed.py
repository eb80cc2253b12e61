"""The package without the repository: the wheel setuptools builds from this checkout, installed into
a fresh virtual environment and used from an empty folder, as a new user would after `pip install`.

The wheel is installed with ``--no-deps``; a ``.pth`` file lends its requirements (torch, ...)
from the environment running the tests, so nothing is downloaded. Every command runs in a
folder outside the checkout, so nothing of the repository is importable by accident.
"""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def _run(venv: Path, *args: str, cwd: Path, check: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def build_wheel(out: Path) -> Path:
    """The project's own wheel, as `pip wheel .` (and so PyPI) would make it."""
    has_setuptools = subprocess.run([sys.executable, "-c", "import setuptools"], capture_output=True).returncode == 0
    isolation = ["--no-build-isolation"] if has_setuptools else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("attention_grader-*.whl"))


def fresh_venv(folder: Path, wheel: Path) -> Path:
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    lib = next((venv / "lib").glob("python3*")) / "site-packages"
    (lib / "lent-requirements.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("installed")
    wheel = build_wheel(folder / "dist")
    return wheel, fresh_venv(folder, wheel), folder


def test_the_wheel_ships_the_exercises_and_the_licence_and_no_generic_reference_package(installed):
    wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for exercise in ("00_simple_attention", "01_softmax", "02_multihead", "03_encoder_decoder"):
        assert f"grader/exercises/{exercise}/exercise.toml" in names
        assert any(n.startswith(f"grader/exercises/{exercise}/checks/test_") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith("reference/") for n in names)


def test_a_new_user_lists_copies_and_grades_the_exercises(installed, tmp_path):
    _, venv, _ = installed
    version = _run(venv, "grade", "--version", cwd=tmp_path, check=True)
    assert re.fullmatch(r"grade \d+\.\d+\.\d+\n", version.stdout)
    listed = _run(venv, "grade", "list", cwd=tmp_path, check=True)
    assert "02_multihead" in listed.stdout and "grade init ." in listed.stdout
    missing = _run(venv, "grade", "exercises/02_multihead", cwd=tmp_path)
    assert missing.returncode == 2 and "grade init ." in missing.stderr
    made = _run(venv, "grade", "init", "course", cwd=tmp_path, check=True)
    assert "copied" in made.stdout and (tmp_path / "course" / "exercises" / "01_softmax" / "solution.py").is_file()
    course = tmp_path / "course"
    graded = _run(venv, "grade", "exercises/01_softmax", "-q", cwd=course)
    assert graded.returncode == 1, graded.stderr
    score, total = re.fullmatch(r"01_softmax: (\d+)/(\d+)\n", graded.stdout).groups()
    assert score == "0" and int(total) > 0
    assert f"(last graded: 0/{total})" in _run(venv, "grade", "list", cwd=course, check=True).stdout
    (course / "exercises" / "01_softmax" / "solution.py").write_text("# my work\n")
    again = _run(venv, "grade", "init", "course", cwd=tmp_path, check=True)
    assert "kept" in again.stdout
    assert (course / "exercises" / "01_softmax" / "solution.py").read_text() == "# my work\n"  # nothing lost


def test_the_reference_is_no_generic_top_level_package(installed, tmp_path):
    _, venv, _ = installed
    generic = _run(venv, "python", "-c", "import reference", cwd=tmp_path)
    assert generic.returncode != 0 and "No module named 'reference'" in generic.stderr
    named = _run(venv, "python", "-c", "import attention_reference, grader; print(grader.__file__)",
                 cwd=tmp_path, check=True)
    assert Path(named.stdout.strip()).is_relative_to(venv)
