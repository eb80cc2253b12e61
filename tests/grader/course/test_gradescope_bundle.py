"""The Gradescope bundle, run for real: `grade gradescope` writes the zip; its own run_autograder runs
against a temporary AUTOGRADER_ROOT with a correct, a buggy, a missing and a two-file upload.

The `grade` it runs is the one setup.sh would have installed: the bundle's wheel, installed
(``--no-deps``) into a fresh virtual environment at ``$AUTOGRADER_ROOT/venv``, where setup.sh
puts it. setup.sh would also install torch and the other requirements from the network;
here a ``.pth`` file lends them from the environment running the tests instead.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader.cli import main
from grader.course import autograder

pytestmark = pytest.mark.slow

CORRECT = ROOT / "attention_reference" / "softmax.py"
BUGGY = CORPUS / "01_softmax" / "buggy" / "mask_ignored.py"
HIDDEN = '''
import pytest
import torch
from grader import kit


@pytest.mark.points(1)
def test_rows_of_ones(student):
    """softmax of a row of ones is uniform"""
    x = torch.ones(2, 4)
    got = kit.expect_tensor(student.call("softmax", x, -1), name="output", like=x)
    kit.assert_close(got, oracle=torch.full_like(x, 0.25), ref=torch.full_like(x, 0.25), name="output")
'''


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    extra = folder / "hidden"
    extra.mkdir()
    (extra / "test_hidden.py").write_text(HIDDEN)
    outcome = CliRunner().invoke(main, ["gradescope", str(EXERCISES / "01_softmax"), "-o", str(folder / "ag.zip"),
                                        "--extra-checks", str(extra), "--seed", "77"])
    assert outcome.exit_code == 0, outcome.output
    assert "1 hidden" in outcome.output and "seed hidden: 77" in outcome.output
    return folder / "ag.zip"


@pytest.fixture(scope="module")
def root(bundle, tmp_path_factory):
    """$AUTOGRADER_ROOT as Gradescope lays it out, after setup.sh: source/ and venv/."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(bundle) as package:
        package.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / name, 0o755)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    wheel = next((root / "source" / "wheels").glob("*.whl"))
    subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300, capture_output=True)
    lib = next((root / "venv" / "lib").glob("python3*")) / "site-packages"
    (lib / "lent-requirements.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return root


def _run(root: Path, files: dict[str, Path | bytes]) -> dict:
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    for name, content in files.items():
        (submission / name).write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    done = subprocess.run([str(root / "source" / "run_autograder")], env={**os.environ, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_has_setup_and_run_autograder_at_its_top_level(bundle):
    with zipfile.ZipFile(bundle) as package:
        names = package.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in package.infolist()}
        config = json.loads(package.read("bundle.json"))
        setup = package.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "bundle.json"} <= set(names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert config["seed"] == 77 and config["seed_hidden"] and config["extra_checks"] == ["extra_checks/1"]
    assert any(n.startswith("wheels/attention_grader-") and n.endswith(".whl") for n in names)
    assert "download.pytorch.org/whl/cpu" in setup and "AUTOGRADER_ROOT" in setup
    assert subprocess.run(["bash", "-n", "-c", setup]).returncode == 0
    assert not any("/handout/" in n for n in names)


def test_the_venvs_grade_is_the_bundles_wheel(root):
    where = subprocess.run([str(root / "venv" / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
                           capture_output=True, text=True, check=True, cwd=root).stdout.strip()
    assert Path(where).is_relative_to(root / "venv") and (root / "venv" / "bin" / "grade").is_file()


def test_a_correct_upload_whatever_its_name_gets_full_marks(root):
    data = _run(root, {"my_softmax.py": CORRECT})
    assert data["score"] == data["max_score"] > 0
    assert {"execution_time", "output", "visibility", "stdout_visibility", "tests"} <= set(data)
    assert all(t["status"] == "passed" for t in data["tests"])
    for test in data["tests"]:
        assert {"name", "number", "score", "max_score", "status", "output", "tags", "visibility"} <= set(test)
    hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == ["softmax of a row of ones is uniform"]
    assert "77" not in json.dumps([t for t in data["tests"] if t["visibility"] == "visible"]) + data["output"]


def test_a_buggy_upload_gets_its_feedback(root):
    data = _run(root, {"solution.py": BUGGY})
    assert 0 < data["score"] < data["max_score"]
    failed = [t for t in data["tests"] if t["status"] == "failed" and t["visibility"] == "visible"]
    assert failed and any("**Likely mistake:**" in t["output"] for t in failed)
    assert data["output"].startswith("**Score: ")


@pytest.mark.parametrize("files, sentence", [
    ({}, autograder.MSG_NOTHING),
    ({"a.py": b"x = 1\n", "b.py": b"y = 2\n"}, "2 Python files were uploaded (a.py, b.py); upload only one"),
    ({"solution.py": b""}, "The uploaded file solution.py is empty"),
    ({"notes.txt": b"hi"}, "No Python file was uploaded (notes.txt)"),
])
def test_no_gradable_upload_still_gets_results_json_with_a_sentence(root, files, sentence):
    data = _run(root, files)
    assert data["score"] == 0 and data["tests"] == [] and sentence in data["output"]


def test_without_the_venv_run_autograder_still_writes_results_json(tmp_path, bundle):
    with zipfile.ZipFile(bundle) as package:
        package.extractall(tmp_path / "source")
    os.chmod(tmp_path / "source" / "run_autograder", 0o755)
    done = subprocess.run([str(tmp_path / "source" / "run_autograder")], capture_output=True, text=True,
                          env={**os.environ, "AUTOGRADER_ROOT": str(tmp_path)}, timeout=60)
    assert done.returncode == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert data["score"] == 0 and "could not run" in data["output"]
