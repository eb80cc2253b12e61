"""Shared helpers for the project's own tests: grading corpus submissions in-process."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from grader.run import session
from grader.spec import load_exercise

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class CorpusEntry:
    path: Path
    category: str                 # correct, buggy, bad_input, hostile
    fails: tuple[str, ...] = ()   # checks that must fail
    passes: tuple[str, ...] = ()  # checks that must still pass (shows a property is not redundant)
    diagnosis: str | None = None  # text a failing check's diagnosis must contain
    message: str | None = None    # text a failing check's summary must contain
    skip_if: str | None = None    # "cuda": the entry's expectations hold only where CUDA is not available
    # Provenance of real public code (tests/corpus/<exercise>/external/); a field may span several lines.
    source: str | None = None              # URL, repository and path the code comes from
    commit: str | None = None              # the commit (or date) it was read at
    licence: str | None = None
    adapted: str | None = None             # exactly what was changed to fit the contract
    bug: str | None = None                 # what is wrong, as its authors wrote it ("none" when correct)
    expected_diagnosis: str | None = None  # in plain words, what a correct diagnosis names
    names: tuple[tuple[str, ...], ...] = ()  # per bug (";"), phrases (" | ") a diagnosis naming it contains
    known_gap: str | None = None           # where the current grader's verdict is wrong (an xfail)

    @property
    def id(self) -> str:
        return f"{self.category}/{self.path.stem}"


PROVENANCE = ("source", "commit", "licence", "adapted", "bug", "expected-diagnosis", "names", "known-gap")


def read_entry(path: Path) -> CorpusEntry:
    fields = {}
    for line in path.read_text().splitlines():
        match = re.match(r"#\s*(corpus|fails|passes|diagnosis|message|skip-if|" + "|".join(PROVENANCE)
                         + r"):\s*(.*)", line)
        if not match:
            break
        key, value = match.group(1), match.group(2).strip()
        # a provenance field given on several lines reads as one
        fields[key] = f"{fields[key]} {value}" if key in PROVENANCE and key in fields else value
    names = tuple(tuple(p.strip() for p in group.split(" | ") if p.strip())
                  for group in fields.get("names", "").split(";") if group.strip())
    return CorpusEntry(path=path, category=fields.get("corpus", path.parent.name),
                       fails=tuple(fields.get("fails", "").split()),
                       passes=tuple(fields.get("passes", "").split()),
                       diagnosis=fields.get("diagnosis"), message=fields.get("message"),
                       skip_if=fields.get("skip-if"),
                       source=fields.get("source"), commit=fields.get("commit"), licence=fields.get("licence"),
                       adapted=fields.get("adapted"), bug=fields.get("bug"),
                       expected_diagnosis=fields.get("expected-diagnosis"), names=names,
                       known_gap=fields.get("known-gap"))


def corpus(exercise: str, category: str) -> list[CorpusEntry]:
    folder = CORPUS / exercise / category
    return [read_entry(p) for p in sorted(folder.glob("*.py"))]


def grade(exercise: str, submission: Path | None = None, *, seed: int = 0, **limits):
    """Grade ``submission`` against ``exercises/<exercise>`` in this process."""
    ex = load_exercise(EXERCISES / exercise)
    if limits:
        ex = dataclasses.replace(ex, limits=dataclasses.replace(ex.limits, **limits))
    return session.grade_submission(exercise=ex, submission=submission, seed=seed)


# -- what every exercise's corpus test asserts -------------------------------------------

def failed_checks(result) -> dict:
    return {c.check_id: c for c in result.checks if not c.passed}


def assert_full_marks(result) -> None:
    failed = failed_checks(result)
    assert not failed, {k: (c.summary, c.details) for k, c in failed.items()}
    assert result.score == result.max_score > 0


def assert_loses_the_right_points(entry: CorpusEntry, result) -> None:
    """The entry's ``# fails:`` checks fail, with its ``# diagnosis:`` (and ``# message:``, if any);
    its ``# passes:`` checks pass."""
    if entry.skip_if == "cuda" and torch.cuda.is_available():
        pytest.skip("this entry's mistake shows differently where CUDA is available")
    failed = failed_checks(result)
    assert entry.fails, "a buggy corpus entry must say which checks it fails"
    for check in entry.fails:
        assert check in failed, f"{check} should fail for {entry.id}; failed: {sorted(failed)}"
    # A mistake only advice catches (a check worth no points, such as vectorisation) costs nothing.
    assert result.score < result.max_score or all(failed[c].max_points == 0 for c in entry.fails)
    if entry.diagnosis:
        diagnoses = [c.diagnosis or "" for c in failed.values()]
        assert any(entry.diagnosis in d for d in diagnoses), (entry.diagnosis, diagnoses)
    if entry.message:
        summaries = [c.summary for c in failed.values()]
        assert any(entry.message in s for s in summaries), (entry.message, summaries)
    for check in entry.passes:
        assert check not in failed, f"{check} should pass for {entry.id}: {failed[check].summary}"


def assert_clear_message(entry: CorpusEntry, result) -> None:
    """A bad submission fails checks with the entry's ``# message:``, never with a grader bug."""
    summaries = [c.summary for c in result.checks if not c.passed]
    assert summaries, "a bad submission must fail checks"
    assert any(entry.message in s for s in summaries), (entry.message, summaries)
    assert not [c for c in result.checks if c.kind == "internal"]


def assert_not_implemented(result) -> None:
    """What a fresh stub gets: 0 points and a friendly message on every check."""
    assert result.score == 0
    assert all(c.kind == "not_implemented" for c in result.checks), [(c.check_id, c.kind, c.summary)
                                                                      for c in result.checks]
    assert all("Not implemented yet" in c.summary or "NotImplementedError" in c.summary for c in result.checks)


def assert_same_grading(first, second) -> None:
    assert [(c.check_id, c.points, c.summary, c.example) for c in first.checks] == \
           [(c.check_id, c.points, c.summary, c.example) for c in second.checks]
