"""What the Gradescope bundle's ``run_autograder`` runs, in the venv that ``setup.sh`` made.

``python -m grader.course.autograder --source $AUTOGRADER_ROOT/source`` finds the upload in
``$AUTOGRADER_ROOT/submission``: exactly one ``.py`` file, whatever its name, is graded
with the ``grade`` command of this same Python (its results.json goes straight to
``$AUTOGRADER_ROOT/results/results.json``); anything else (nothing uploaded, an empty
file, two Python files, no Python file, more than 1 MB) gets 0 points and one sentence
saying what to upload. Whatever happens, results.json is written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from grader.outputs import gradescope

DEFAULT_ROOT = "/autograder"
MAX_BYTES = 1 << 20
TIMEOUT = 30 * 60  # Gradescope's own limit is the assignment's; this one only stops a stuck grader
JUNK = ("__MACOSX", "__pycache__")

MSG_NOTHING = "No file was uploaded. Upload your solution: one Python file (solution.py)."
MSG_NO_PYTHON = "No Python file was uploaded ({files}). Upload your solution: one Python file (solution.py)."
MSG_TWO = ("{count} Python files were uploaded ({files}); upload only one: your solution.py, with everything "
           "in it.")
MSG_EMPTY = "The uploaded file {name} is empty. Upload your solution.py with your code in it."
MSG_TOO_LARGE = "The uploaded file {name} is larger than 1 MB. Upload only your solution.py."
MSG_CRASHED = ("The autograder could not grade {name} ({why}). This is not a mistake in your code; "
               "please tell your instructor.")


def uploaded(submission: Path) -> list[Path]:
    if not submission.is_dir():
        return []
    return sorted(p for p in submission.rglob("*") if p.is_file() and not any(
        part.startswith(".") or part in JUNK for part in p.relative_to(submission).parts))


def choose(files: list[Path], submission: Path) -> tuple[Path | None, str | None]:
    """The file to grade, or the sentence that tells the student what to upload instead."""
    names = ", ".join(str(p.relative_to(submission)) for p in files)
    python = [p for p in files if p.suffix == ".py"]
    if not files:
        return None, MSG_NOTHING
    if not python:
        return None, MSG_NO_PYTHON.format(files=names)
    if len(python) > 1:
        return None, MSG_TWO.format(count=len(python), files=", ".join(p.name for p in python))
    path = python[0]
    size = path.stat().st_size
    if size == 0:
        return None, MSG_EMPTY.format(name=path.name)
    if size > MAX_BYTES:
        return None, MSG_TOO_LARGE.format(name=path.name)
    return path, None


def grade_command(source: Path, config: dict, path: Path, results: Path) -> list[str]:
    grade = Path(sys.executable).with_name("grade")
    command = [str(grade) if grade.exists() else sys.executable, *([] if grade.exists() else ["-m", "grader"]),
               str(source / config["exercise_dir"]), "--submission", str(path), "--results-json", str(results),
               "--report-dir", str(results.parent / "report"), "-q"]
    command += ["--final-seed" if config.get("seed_hidden") else "--seed", str(config.get("seed", 0))]
    for folder in config.get("extra_checks", ()):
        command += ["--extra-checks", str(source / folder)]
    return command


def run(source: Path, root: Path) -> dict:
    """Grade the upload under ``root``; returns what was written to results.json."""
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    config = json.loads((source / "bundle.json").read_text())
    submission = root / "submission"
    path, problem = choose(uploaded(submission), submission)
    if path is None:
        data = gradescope.not_graded_json(problem)
        gradescope.write_json(data, results)
        print(problem)
        return data
    results.unlink(missing_ok=True)
    try:
        done = subprocess.run(grade_command(source, config, path, results), capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=root)
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        ok = done.returncode in (0, 1)
    except subprocess.TimeoutExpired:
        ok, why = False, f"it took longer than {TIMEOUT // 60} minutes"
    if ok and results.is_file():
        return json.loads(results.read_text())
    data = gradescope.not_graded_json(MSG_CRASHED.format(name=path.name, why=why[:300]),
                                      execution_time=time.monotonic() - started)
    gradescope.write_json(data, results)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.autograder", description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="The unpacked bundle ($AUTOGRADER_ROOT/source).")
    args = parser.parse_args(argv)
    root = Path(os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT))
    try:
        run(args.source, root)
    except Exception as error:  # noqa: BLE001 - whatever broke, the student gets a results.json
        gradescope.write_json(gradescope.not_graded_json(MSG_CRASHED.format(name="the upload", why=str(error)[:300])),
                              root / "results" / "results.json")
        print(f"autograder: {type(error).__name__}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
