"""Is grading interactive? Wall time of `grade` per exercise against `import torch`.

Run on purpose (not a test): `python benchmarks/grading.py [RUNS]`. For every
exercise with checks, grades its reference solution through the real command
(a fresh process each time, as a student would) and prints the median wall
time, the median of `python -c "import torch"` and their ratio. Target: at
most 3x the import time per exercise. A reference that does not get full
marks stops the benchmark: a broken run is not timed.

Then, for information, the same for a few wrong 02 submissions from the test
corpus: a student's usual run fails checks, and Hypothesis then shrinks.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = {
    "00_simple_attention": "simple_attention.py",
    "01_softmax": "softmax.py",
    "02_multihead": "multihead.py",
    "03_encoder_decoder": "encoder_decoder.py",
}


WRONG_02 = ("no_scale", "softmax_query_axis", "nan_fully_masked", "loop_over_batch")


def timed(command: list[str], expected_exit: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != expected_exit:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}, not {expected_exit}:\n"
                         f"{done.stdout}{done.stderr}")
    return elapsed


def grade_command(exercise: str, submission: Path) -> list[str]:
    return [sys.executable, "-m", "grader", str(ROOT / "exercises" / exercise), "--submission",
            str(submission), "-q", "--report-dir", "/tmp/grade-bench"]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    torch_import = statistics.median(timed([sys.executable, "-c", "import torch"]) for _ in range(runs))
    print(f"python -c 'import torch': median {torch_import:.2f} s over {runs} runs")
    for exercise, reference in REFERENCES.items():
        if not (ROOT / "exercises" / exercise / "checks").is_dir():
            continue
        command = grade_command(exercise, ROOT / "attention_reference" / reference)
        median = statistics.median(timed(command) for _ in range(runs))
        print(f"grade {exercise:<20} median {median:5.2f} s   ratio to import torch {median / torch_import:4.2f}x")
    for name in WRONG_02:
        command = grade_command("02_multihead", ROOT / "tests" / "corpus" / "02_multihead" / "buggy" / f"{name}.py")
        median = statistics.median(timed(command, expected_exit=1) for _ in range(runs))
        print(f"grade 02 {name + '.py':<24} median {median:5.2f} s   ratio to import torch "
              f"{median / torch_import:4.2f}x  (wrong: checks fail and shrink)")


if __name__ == "__main__":
    main()
