"""The exercises that ship with the package, wherever it is installed, and a student's copy of them.

In a checkout they are the project's ``exercises/``; in an installed wheel they are
``grader/exercises/`` inside the package (the build copies them there: ``setup.py``).
``grade init DIR`` copies them out; ``grade list`` shows each with the last score
graded in the copy (``.last-grade.json`` in the exercise's folder, written by ``grade``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grader
from grader.spec import METADATA

PACKAGED = Path(grader.__file__).resolve().parent / "exercises"
CHECKOUT = Path(grader.__file__).resolve().parent.parent / "exercises"
LAST_GRADE = ".last-grade.json"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def home() -> Path | None:
    """Where the shipped exercises are: inside the installed package, or the checkout's ``exercises/``."""
    for folder in (PACKAGED, CHECKOUT):
        if folder.is_dir() and any((p / METADATA).is_file() for p in folder.iterdir()):
            return folder
    return None


def shipped(name: str) -> Path | None:
    """The shipped exercise called ``name`` (``02_multihead``, or a path ending in it), if there is one."""
    folder = home()
    if folder is None:
        return None
    candidate = folder / Path(name).name
    return candidate if (candidate / METADATA).is_file() else None


def copy_out(target: Path, names: tuple[str, ...] = ()) -> tuple[list[Path], list[Path]]:
    """Copy the shipped exercises (or those named) into ``target/exercises``: (copied, kept).

    An exercise folder already there is kept as it is (it may hold the student's work).
    """
    source = home()
    if source is None:
        raise FileNotFoundError("this installation ships no exercises")
    available = sorted(p for p in source.iterdir() if (p / METADATA).is_file())
    if names:
        wanted = {Path(n).name for n in names}
        unknown = wanted - {p.name for p in available}
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        available = [p for p in available if p.name in wanted]
    destination = Path(target) / "exercises"
    destination.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for folder in available:
        out = destination / folder.name
        if out.exists():
            kept.append(out)
            continue
        shutil.copytree(folder, out, ignore=IGNORED)
        copied.append(out)
    return copied, kept


def record_last(exercise_root: Path, *, score: float, max_score: float, when: str) -> None:
    """Remember the last grade of the exercise's own solution.py, for ``grade list``."""
    try:
        (Path(exercise_root) / LAST_GRADE).write_text(json.dumps({"score": score, "max_score": max_score,
                                                                  "when": when}))
    except OSError:
        pass  # a read-only copy (the installed package's own): nothing to remember there


def last(exercise_root: Path) -> dict | None:
    try:
        data = json.loads((Path(exercise_root) / LAST_GRADE).read_text())
        return {"score": float(data["score"]), "max_score": float(data["max_score"]), "when": str(data["when"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None
