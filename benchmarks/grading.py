"""Is grading interactive? Wall time of `grade` per exercise against `import torch`.

Run on purpose (not a test): `python benchmarks/grading.py [RUNS]`. For every
exercise with checks, grades its reference solution through the real command
(a fresh process each time, as a student would) and prints the median wall
time, the median of `python -c "import torch"` (timed in turn with it) and their ratio. Target: at
most 2x the import time per exercise, 03 included (benchmarks/timeline.py shows
where one grade spends its time). A reference that does not get full
marks stops the benchmark: a broken run is not timed.

Then, for information, the same for a few wrong submissions from the test
corpus: a student's usual run fails checks, Hypothesis then shrinks, and the
submission is diagnosed as a whole (a wrong 02 of each kind, and one of every
other exercise whose diagnosis takes a pair of mistakes or a richer probe).

`python benchmarks/grading.py RUNS --against DIR` times another checkout of the
project (DIR, e.g. a clone at an older commit) on the same submissions, each run
of one beside a run of the other so that the load of a shared machine falls on
both alike, and prints both medians and their ratio (this checkout over DIR).
A submission the other checkout lacks is timed here only.

Replay records (grader.run.replay) saved by one `grade` speed up the next: by default every
run is cold (``GRADE_REPLAY_CACHE=off``, what a first grade of an exercise costs); with
``--warm`` the records are first saved by one untimed grade of each reference, into a
folder of the benchmark's own, and every timed run reads them (a student's second grade).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = {
    "00_simple_attention": "simple_attention.py",
    "01_softmax": "softmax.py",
    "02_multihead": "multihead.py",
    "03_encoder_decoder": "encoder_decoder.py",
}
REFERENCE_FOLDERS = ("attention_reference", "reference")  # its name now, and before

WRONG = (("02_multihead", "no_scale"), ("02_multihead", "softmax_query_axis"), ("02_multihead", "nan_fully_masked"),
         ("02_multihead", "loop_over_batch"), ("00_simple_attention", "key_T"), ("01_softmax", "fixed_dim_1"),
         ("03_encoder_decoder", "uniform_fully_masked"))


def timed(command: list[str], cwd: Path, expected_exit: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    elapsed = time.perf_counter() - started
    if done.returncode != expected_exit:
        raise SystemExit(f"{' '.join(command)} (in {cwd}) exited {done.returncode}, not {expected_exit}:\n"
                         f"{done.stdout}{done.stderr}")
    return elapsed


def grade_command(root: Path, exercise: str, submission: Path) -> list[str]:
    """`grade` of ``root``'s own checkout (run with cwd=root, `-m grader` imports that checkout's grader)."""
    return [sys.executable, "-m", "grader", str(root / "exercises" / exercise), "--submission",
            str(submission), "-q", "--report-dir", "/tmp/grade-bench"]


def reference_of(root: Path, exercise: str) -> Path | None:
    for folder in REFERENCE_FOLDERS:
        path = root / folder / REFERENCES[exercise]
        if path.is_file():
            return path
    return None


def cases(root: Path) -> list[tuple[str, str, Path | None, int]]:
    """(label, exercise, submission in ``root``, expected exit) for every submission timed."""
    out = [(f"grade {exercise}", exercise, reference_of(root, exercise), 0) for exercise in REFERENCES
           if (root / "exercises" / exercise / "checks").is_dir()]
    for exercise, name in WRONG:
        path = root / "tests" / "corpus" / exercise / "buggy" / f"{name}.py"
        out.append((f"grade {exercise[:2]} {name}.py (wrong)", exercise, path if path.is_file() else None, 1))
    return out


def median_of(runs: int, *commands: tuple[list[str], Path, int] | None) -> list[float | None]:
    """Each command's median over ``runs`` runs, the commands taking turns."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for spent, command in zip(times, commands):
            if command is not None:
                spent.append(timed(*command))
    return [statistics.median(t) if t else None for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description="Wall time of `grade` against `import torch`.")
    parser.add_argument("runs", nargs="?", type=int, default=3, help="Runs of each command (the median is shown).")
    parser.add_argument("--against", type=Path, help="Another checkout of the project to time beside this one.")
    parser.add_argument("--warm", action="store_true",
                        help="Time grades that start from saved replay records (default: cold, none saved).")
    parser.add_argument("--references", action="store_true",
                        help="Time only the reference solutions (the target), not the wrong submissions.")
    args = parser.parse_args()
    os.environ["GRADE_REPLAY_CACHE"] = tempfile.mkdtemp(prefix="grade-bench-replay-") if args.warm else "off"
    other = args.against.resolve() if args.against else None
    torch_command = ([sys.executable, "-c", "import torch"], ROOT, 0)
    (torch_import,) = median_of(args.runs, torch_command)
    print(f"load average {os.getloadavg()[0]:.2f}; python -c 'import torch': median {torch_import:.2f} s over {args.runs} runs; "
          f"replay records: {'saved by one grade first (warm)' if args.warm else 'none (cold)'}")
    if args.warm:
        for label, exercise, path, code in cases(ROOT):
            if path is not None and code == 0:
                timed(grade_command(ROOT, exercise, path), ROOT, code)
    mine = {label: (exercise, path, code) for label, exercise, path, code in cases(ROOT)}
    theirs = {label: (exercise, path, code) for label, exercise, path, code in cases(other)} if other else {}
    for label, (exercise, path, code) in mine.items():
        if path is None or (args.references and code != 0):
            continue
        here = (grade_command(ROOT, exercise, path), ROOT, code)
        there_exercise, there_path, there_code = theirs.get(label, (None, None, None))
        there = (grade_command(other, there_exercise, there_path), other, there_code) if there_path else None
        # `import torch` takes its turn beside each submission's runs: on a shared machine the
        # load changes from one submission to the next, and each ratio is taken under its own.
        median, before, torch_now = median_of(args.runs, here, there, torch_command)
        line = (f"{label:<44} median {median:5.2f} s   ratio to import torch {median / torch_now:4.2f}x "
                f"(import torch {torch_now:4.2f} s)")
        if before is not None:
            line += f"   against {before:5.2f} s there ({before / torch_now:4.2f}x): {median / before:4.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
