"""Where a single cold `grade` spends its time: a timeline, and each check's cost.

Run on purpose (not a test): `python benchmarks/timeline.py [EXERCISE ...] [--submission FILE] [--warm]`.
Grades each exercise's reference (or FILE) through the real command in a fresh process, as
benchmarks/grading.py times it, with benchmarks/timeline_hooks.py noting when things happen:
the interpreter's start, the forkserver's start and when it has torch, the grader's imports,
each child's start, pytest's collection, the checks, the report and the exit. Then, per check:
its wall time, the requests it made, the time it waited on the child and its examples.
Times are seconds since the command was launched. Cold by default (no replay records).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import REFERENCES, ROOT, reference_of  # noqa: E402

BOOT = ("import sys, time; started = time.time(); sys.path.insert(0, {hooks!r}); import timeline_hooks; "
        "timeline_hooks.install(started); sys.argv = ['grade', *{argv!r}]; from grader.cli import entry; entry()")


def timeline(exercise: str, submission: Path, replay: str) -> tuple[float, dict]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    argv = [str(ROOT / "exercises" / exercise), "--submission", str(submission), "-q",
            "--report-dir", "/tmp/grade-bench"]
    env = {**os.environ, "GRADE_TIMELINE_FILE": path, "GRADE_REPLAY_CACHE": replay}
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", BOOT.format(hooks=str(Path(__file__).parent), argv=argv)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    ended = time.time()
    if done.returncode not in (0, 1):
        raise SystemExit(f"grade {exercise} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    data["events"].append([ended, f"command done ({done.stdout.strip()})"])
    return launched, data


def show(exercise: str, launched: float, data: dict) -> None:
    print(f"\n== {exercise}: timeline (s since launch)")
    for when, label in sorted(data["events"]):
        print(f"{when - launched:7.2f}  {label}")
    print(f"\n== {exercise}: checks (wall s, requests, s waiting on the child, examples)")
    total = [0.0, 0, 0.0, 0]
    for name, c in data["checks"].items():
        wall = c.get("ended", c["began"]) - c["began"]
        print(f"{c['began'] - launched:7.2f}  {name:<36} {wall:6.3f} s {c['requests']:5d} req "
              f"{c['waited']:6.3f} s waited {c['examples']:4d} examples")
        total = [total[0] + wall, total[1] + c["requests"], total[2] + c["waited"], total[3] + c["examples"]]
    print(f"{'':7}  {'all checks':<36} {total[0]:6.3f} s {total[1]:5d} req {total[2]:6.3f} s waited "
          f"{total[3]:4d} examples")


def main() -> None:
    parser = argparse.ArgumentParser(description="A timeline of one cold `grade`, and each check's cost.")
    parser.add_argument("exercises", nargs="*", default=["02_multihead", "03_encoder_decoder"])
    parser.add_argument("--submission", type=Path, help="Grade this file (default: the exercise's reference).")
    parser.add_argument("--warm", action="store_true", help="Save replay records with one grade first.")
    args = parser.parse_args()
    replay = tempfile.mkdtemp(prefix="grade-timeline-replay-") if args.warm else "off"
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for exercise in args.exercises:
        submission = args.submission or reference_of(ROOT, exercise)
        if args.warm:
            timeline(exercise, submission, replay)
        show(exercise, *timeline(exercise, submission, replay))


if __name__ == "__main__":
    main()
