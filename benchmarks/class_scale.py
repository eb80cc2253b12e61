"""Does grading a class scale? 200 mixed submissions of 02, side by side with one process per student.

Run on purpose (not a test)::

    python benchmarks/class_scale.py [--sizes 50,100,200] [--alone 16] [--jobs N]

For each class size, builds a class of mixed 02 submissions (correct variants, buggy
ones, some that crash and one that hangs, cycled in a fixed order) and grades it with
`grade class` (default --jobs unless given), sampling the resident memory of the whole
process tree every 50 ms. Then grades ``--alone`` of the same submissions with one
`grade --submission` process per student, two at a time (what a script around the
single-submission command would do), checks that every one of them got exactly the
score the class run gave it, and prints side by side:

- seconds per submission for the class run at each size and for one process per student,
  and their ratio (target: the class is at least 5x faster);
- the class run's wall time at the largest size (target: 200 in under 60 s on 2 cores);
- the class run's peak memory at each size (target: flat in the class size);
- the CPU time the whole machine was busy per submission (what the 60 s target allows on 2 cores:
  60 s x 2 cores / 200 = 0.6 s a submission, start-up included).

With ``--against DIR`` (another checkout of the project, e.g. a clone at an older commit),
each class is also graded by that checkout, right after this one's run so that the load of
a shared machine falls on both alike, and the two wall times and their ratio are printed
(their scores are checked to be the same too).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker import machine_busy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "02_multihead"
CORPUS = ROOT / "tests" / "corpus" / "02_multihead"
MIX = [  # (corpus file, how many of every 100 students): half right, many wrong, some broken, one hangs
    ("correct/einsum.py", 30), ("correct/bmm_flat_heads.py", 10), ("correct/float64_inside.py", 10),
    ("buggy/no_scale.py", 10), ("buggy/mask_ignored.py", 10), ("buggy/softmax_query_axis.py", 10),
    ("bad_input/raises_in_forward.py", 10), ("bad_input/syntax_error.py", 9),
    ("bad_input/never_returns.py", 1),
]


def build_class(folder: Path, size: int) -> dict[str, Path]:
    """``size`` submissions as <student>.py files, spreading MIX evenly in a fixed order."""
    slots = sorted((k / share, name) for name, share in MIX for k in range(share))  # interleaved, not blocks
    cycle = [name for _, name in slots]
    folder.mkdir(parents=True)
    made = {}
    for n in range(size):
        student = f"s{n:03d}"
        # Each file its own bytes, as in a real class: nothing may be graded once for many students.
        text = (CORPUS / cycle[n % len(cycle)]).read_text() + f"\n# handed in by {student}\n"
        (folder / f"{student}.py").write_text(text)
        made[student] = folder / f"{student}.py"
    return made


def tree_rss(root_pid: int) -> int:
    """Resident memory (bytes) of ``root_pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def run_sampled(command: list[str], cwd: Path) -> tuple[float, int, subprocess.CompletedProcess, float]:
    """(wall seconds, peak tree RSS in bytes, the finished process, the machine's busy CPU seconds)."""
    busy = machine_busy()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    return (time.perf_counter() - started, peak[0], subprocess.CompletedProcess(command, process.returncode, out, err),
            machine_busy() - busy)


def class_command(root: Path, klass: Path, out: Path, jobs: int | None) -> list[str]:
    """`grade class` of ``klass`` by ``root``'s checkout (run it with cwd=root: `-m grader` imports that
    checkout's grader), its reports in ``out``."""
    return [sys.executable, "-m", "grader", "class", str(root / "exercises" / EXERCISE.name), str(klass),
            "--report-dir", str(out), "-q", *(["--jobs", str(jobs)] if jobs else [])]


def grade_class(root: Path, klass: Path, out: Path, jobs: int | None) -> tuple[float, int, dict[str, str], float]:
    """(wall seconds, peak tree RSS, scores, busy CPU seconds) of ``root``'s checkout grading ``klass``."""
    wall, peak, done, busy = run_sampled(class_command(root, klass, out, jobs), root)
    if done.returncode != 0:
        raise SystemExit(f"grade class failed in {root} for {klass.name}:\n{done.stdout}{done.stderr}")
    return wall, peak, class_scores(out), busy


def class_scores(report_dir: Path) -> dict[str, str]:
    with open(report_dir / "grades.csv", newline="") as handle:
        return {row["student"]: row["score"] for row in csv.DictReader(handle)}


def grade_alone(submission: Path, cwd: Path) -> tuple[float, str]:
    command = [sys.executable, "-m", "grader", str(EXERCISE), "--submission", str(submission), "-q",
               "--report-dir", str(cwd / f"alone-{submission.stem}")]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"grading {submission.name} alone failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started, done.stdout.strip().rsplit(" ", 1)[-1].split("/")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,100,200", help="class sizes, comma-separated")
    parser.add_argument("--alone", type=int, default=16, help="students graded one process each")
    parser.add_argument("--jobs", type=int, default=None, help="grade class --jobs (default: its own)")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to grade each class beside")
    args = parser.parse_args()
    other = args.against.resolve() if args.against else None
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"02_multihead, {os.cpu_count()} CPU cores, sizes {sizes}, jobs {args.jobs or 'default'}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="grade-scale-") as tmp:
        tmp = Path(tmp)
        for size in sizes:
            klass = tmp / f"class-{size}"
            made = build_class(klass, size)
            wall, peak, scores, busy = grade_class(ROOT, klass, tmp / f"out-{size}", args.jobs)
            missing = sorted(set(made) - set(scores))
            if missing:
                raise SystemExit(f"students missing from the gradebook: {missing[:5]}")
            rows.append((size, wall, peak, scores, busy))
            line = (f"class of {size:4d}: {wall:7.1f} s  {wall / size:5.2f} s per submission  "
                    f"peak memory {peak / 2**20:7.0f} MiB  machine CPU {busy / size:5.2f} s per submission")
            if other is not None:
                before, _, theirs, _ = grade_class(other, klass, tmp / f"against-{size}", args.jobs)
                differ = sorted(s for s in scores if float(scores[s]) != float(theirs.get(s, "nan")))
                if differ:
                    raise SystemExit(f"scores differ from {other}'s: {differ[:5]}")
                line += f"   {other.name}: {before:7.1f} s, this one {before / wall:4.2f}x faster (same scores)"
            print(line, flush=True)
        largest = max(sizes)
        klass = tmp / f"class-{largest}"
        sample = [klass / f"s{n:03d}.py" for n in range(min(args.alone, largest))]
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            alone = list(pool.map(lambda path: grade_alone(path, tmp), sample))
        alone_wall = time.perf_counter() - started
        scores = rows[-1][3]
        differ = [(p.stem, s, scores[p.stem]) for p, (_, s) in zip(sample, alone) if float(s) != float(scores[p.stem])]
        if differ:
            raise SystemExit(f"a student's score differs between the class run and alone: {differ}")
    per_alone = alone_wall / len(sample)
    print(f"one process per student, 2 at a time: {alone_wall:7.1f} s for {len(sample)}  "
          f"{per_alone:5.2f} s per submission (same scores as the class run)")
    print()
    print(f"{'size':>6} {'wall s':>8} {'s/sub':>7} {'vs alone':>9} {'peak MiB':>9} {'CPU s/sub':>10}")
    for size, wall, peak, _, busy in rows:
        print(f"{size:6d} {wall:8.1f} {wall / size:7.3f} {per_alone / (wall / size):8.2f}x {peak / 2**20:9.0f} "
              f"{busy / size:10.2f}")
    size, wall, _, _, _ = rows[-1]
    print(f"\ntargets: {size} in {wall:.1f} s (under 60 s: {'yes' if wall < 60 else 'no'}); "
          f"{per_alone / (wall / size):.2f}x one process per student (at least 5x: "
          f"{'yes' if per_alone / (wall / size) >= 5 else 'no'}); peak memory "
          f"{', '.join(f'{p / 2**20:.0f}' for _, _, p, _, _ in rows)} MiB at {', '.join(str(s) for s, *_ in rows)}; "
          f"machine CPU {rows[-1][4] / size:.2f} s per submission (the 60 s target on {os.cpu_count()} cores "
          f"allows {60 * (os.cpu_count() or 1) / 200:.2f})")


if __name__ == "__main__":
    main()
