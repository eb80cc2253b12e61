"""A grading worker grades submission after submission in one process: its memory must not grow
with the class (the batch's peak memory is measured in benchmarks/class_scale.py)."""

from __future__ import annotations

import os

from conftest import EXERCISES, ROOT
from grader.run import session
from grader.spec import load_exercise


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_grading_again_and_again_in_one_process_does_not_grow_its_memory():
    exercise = load_exercise(EXERCISES / "02_multihead")
    right = ROOT / "attention_reference" / "multihead.py"
    for _ in range(3):  # caches fill (the oracles, Hypothesis's, the modules of the checks)
        session.grade_submission(exercise=exercise, submission=right)
    before = _rss_mib()
    for _ in range(5):
        session.grade_submission(exercise=exercise, submission=right)
    grown = _rss_mib() - before
    assert grown < 5, f"{grown:.1f} MiB more after 5 more gradings"
