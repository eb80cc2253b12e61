"""How much the sandbox costs: grading time at each level, and what one child costs to start.

Run on purpose (not a test): `python benchmarks/isolation.py [RUNS]`. Grades the reference
MultiHeadAttention through the real `grade` command, alternating levels, and prints the
median wall time of each and their ratio; then starts RUNS * 4 children of a one-line
submission at each level from a warm forkserver (fork, isolation, loading) and prints the
median start of each.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "grader", str(ROOT / "exercises" / "02_multihead"),
           "--submission", str(ROOT / "attention_reference" / "multihead.py"), "-q", "--report-dir", "/tmp/grade-bench"]
LEVELS = ("rlimits", "namespaces")


def run(level: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*COMMAND, "--isolation", level], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grading failed at level {level}:\n{done.stdout}{done.stderr}")
    return elapsed


def child_starts(level: str, count: int) -> list[float]:
    """Seconds from asking for a child to its hello, for ``count`` children at ``level``."""
    sys.path.insert(0, str(ROOT))
    from grader.sandbox.proxy import SubmissionRunner
    from grader.spec import Limits

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "solution.py"
        path.write_text("def softmax(x, dim=-1):\n    return x\n")
        times = []
        for _ in range(count + 1):
            runner = SubmissionRunner(submission=path, limits=Limits(), isolation=level)
            started = time.perf_counter()
            runner.ensure()
            times.append(time.perf_counter() - started)
            runner.close()
        return times[1:]   # the first waits for the forkserver to import torch


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times: dict[str, list[float]] = {level: [] for level in LEVELS}
    for _ in range(runs):
        for level in times:
            times[level].append(run(level))
    plain, strong = (statistics.median(times[k]) for k in LEVELS)
    print(f"grade 02_multihead (reference), {runs} runs each")
    print(f"  rlimits     median {plain:6.2f} s")
    print(f"  namespaces  median {strong:6.2f} s")
    print(f"  ratio namespaces/rlimits: {strong / plain:.3f}")
    starts = {level: statistics.median(child_starts(level, 4 * runs)) for level in LEVELS}
    print(f"one child's start (fork, isolation, loading), {4 * runs} each")
    for level in LEVELS:
        print(f"  {level:<11} median {starts[level] * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
