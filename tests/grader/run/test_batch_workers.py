"""`grade class` when a grading worker itself dies (the grader's process, not a sandboxed child):
it is replaced, the submissions it may have been grading are graded again, each alone, and one
that kills its worker twice is "grading failed" while the class goes on. Read back with pandas.

The death is real: an instructor's extra check that ends its own process (the grading worker)
when the submission asks it to. 01_softmax keeps the grading short."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import EXERCISES, ROOT

RIGHT = (ROOT / "attention_reference" / "softmax.py").read_text()
KILLER = '''import os
import time

import pytest


@pytest.mark.points(0)
def test_the_grader_survives(student):
    """Ends the grading worker when the submission says so (once, where a marker file is named)"""
    source = student._runner.source.decode()
    marker = source.split("# kill the grader once: ")[1].split("\\n")[0] if "# kill the grader once: " in source else None
    if "# kill the grader always, after " in source:   # after the other's death: whatever the timing, the
        other = source.split("# kill the grader always, after ")[1].split("\\n")[0]   # once-killer dies first,
        deadline = time.monotonic() + 120                                         # never as a bystander
        while not os.path.exists(other) and time.monotonic() < deadline:
            time.sleep(0.05)
        os._exit(7)
    if marker is not None and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(7)
'''


def test_a_dead_worker_is_replaced_and_only_the_student_who_kills_it_twice_is_not_graded(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "test_killer.py").write_text(KILLER)
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("ada", "bob", "dee"):
        (klass / f"{name}.py").write_text(RIGHT)
    (klass / "cy.py").write_text(RIGHT + f"\n# kill the grader always, after {tmp_path / 'eve-died'}\n")
    (klass / "eve.py").write_text(RIGHT + f"\n# kill the grader once: {tmp_path / 'eve-died'}\n")
    done = subprocess.run([sys.executable, "-m", "grader", "class", str(EXERCISES / "01_softmax"), str(klass),
                           "--extra-checks", str(extra), "--jobs", "2", "--report-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "eve-died").exists()   # eve's first grading really killed its worker
    assert "4 graded, 1 could not be graded (listed in the class report), 0 skipped" in done.stdout, done.stdout
    book = pd.read_csv(tmp_path / "out" / "grades.csv", dtype={"student": str}).set_index("student")
    full = book.loc["ada", "score"]
    assert full > 0 and book.loc[["ada", "bob", "dee", "eve"], "score"].tolist() == [full] * 4
    assert book.loc["cy", "score"] == 0 and book.loc["cy", "status"] == "not graded"
    assert "grading failed" in book.loc["cy", "reason"] and "died" in book.loc["cy", "reason"]
    assert "cy: not graded: grading failed" in done.stderr
