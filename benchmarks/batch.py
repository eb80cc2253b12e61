"""Does grading a class in parallel pay? Wall time of `grade class` for growing --jobs.

Run on purpose (not a test): `python benchmarks/batch.py [STUDENTS] [JOBS ...]`.
Builds a class of STUDENTS submissions of 02_multihead from the test corpus
(correct and buggy ones, cycled), grades it from scratch once per --jobs value
through the real command, checks that every run gives the same gradebook, and
prints each wall time with its speed-up over --jobs 1.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "02_multihead"


def build_class(folder: Path, students: int) -> None:
    sources = sorted((CORPUS / "correct").glob("*.py")) + sorted((CORPUS / "buggy").glob("*.py"))
    for number, source in zip(range(students), itertools.cycle(sources)):
        shutil.copy(source, folder / f"student{number:03d}.py")


def main() -> None:
    students = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    jobs_values = [int(j) for j in sys.argv[2:]] or [1, 2]
    with tempfile.TemporaryDirectory(prefix="grade-batch-bench-") as tmp:
        klass = Path(tmp) / "class"
        klass.mkdir()
        build_class(klass, students)
        print(f"{students} submissions of 02_multihead, {os.cpu_count()} CPU cores")
        baseline = gradebook = None
        for jobs in jobs_values:
            out = Path(tmp) / f"out-{jobs}"
            command = [sys.executable, "-m", "grader", "class", str(ROOT / "exercises" / "02_multihead"),
                       str(klass), "--jobs", str(jobs), "--report-dir", str(out), "-q"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"--jobs {jobs} failed:\n{done.stdout}{done.stderr}")
            book = (out / "grades.csv").read_text()
            if gradebook is not None and book != gradebook:
                raise SystemExit(f"--jobs {jobs} gave a different gradebook from --jobs {jobs_values[0]}")
            gradebook = book
            baseline = baseline or elapsed
            print(f"--jobs {jobs}: {elapsed:6.2f} s   {elapsed / students:5.2f} s per submission   "
                  f"speed-up {baseline / elapsed:4.2f}x")


if __name__ == "__main__":
    main()
