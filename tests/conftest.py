"""Shared helpers for the project's own tests: grading corpus submissions in-process."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import grading
from grader.exercise import load_exercise

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class CorpusEntry:
    path: Path
    category: str                 # correct, buggy, bad_input, hostile
    fails: tuple[str, ...] = ()   # checks that must fail
    diagnosis: str | None = None  # text a failing check's diagnosis must contain
    message: str | None = None    # text a failing check's summary must contain

    @property
    def id(self) -> str:
        return f"{self.category}/{self.path.stem}"


def read_entry(path: Path) -> CorpusEntry:
    fields = {}
    for line in path.read_text().splitlines():
        match = re.match(r"#\s*(corpus|fails|diagnosis|message):\s*(.*)", line)
        if not match:
            break
        fields[match.group(1)] = match.group(2).strip()
    return CorpusEntry(path=path, category=fields.get("corpus", path.parent.name),
                       fails=tuple(fields.get("fails", "").split()),
                       diagnosis=fields.get("diagnosis"), message=fields.get("message"))


def corpus(exercise: str, category: str) -> list[CorpusEntry]:
    folder = CORPUS / exercise / category
    return [read_entry(p) for p in sorted(folder.glob("*.py"))]


def grade(exercise: str, submission: Path | None = None, *, seed: int = 0, **limits):
    """Grade ``submission`` against ``exercises/<exercise>`` in this process."""
    ex = load_exercise(EXERCISES / exercise)
    if limits:
        ex = dataclasses.replace(ex, limits=dataclasses.replace(ex.limits, **limits))
    return grading.grade_submission(exercise=ex, submission=submission, seed=seed)


@pytest.fixture(scope="session")
def grade_fn():
    return grade
