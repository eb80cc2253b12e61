"""How much the strong sandbox costs: grading time with and without namespaces.

Run on purpose (not a test): `python benchmarks/isolation.py [RUNS]`. Grades the
reference MultiHeadAttention through the real `grade` command, alternating
levels, and prints the median wall time of each and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "grader", str(ROOT / "exercises" / "02_multihead"),
           "--submission", str(ROOT / "attention_reference" / "multihead.py"), "-q", "--report-dir", "/tmp/grade-bench"]


def run(level: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*COMMAND, "--isolation", level], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grading failed at level {level}:\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times: dict[str, list[float]] = {"rlimits": [], "namespaces": []}
    for _ in range(runs):
        for level in times:
            times[level].append(run(level))
    plain, strong = (statistics.median(times[k]) for k in ("rlimits", "namespaces"))
    print(f"grade 02_multihead (reference), {runs} runs each")
    print(f"  rlimits     median {plain:6.2f} s")
    print(f"  namespaces  median {strong:6.2f} s")
    print(f"  ratio namespaces/rlimits: {strong / plain:.3f}")


if __name__ == "__main__":
    main()
