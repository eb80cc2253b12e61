"""What does a grading worker spend per submission? One process grading a mix of 02, warm.

Run on purpose (not a test)::

    python benchmarks/worker.py [--rounds 3] [--mix correct,buggy] [--profile FILE] [--against DIR]

Grades one correct submission first (untimed: imports, the forkserver, the checks' first
records), then ``--rounds`` rounds of the mix in this process, each submission with
``grade_submission(..., saved_records=False)`` as a batch worker does, and prints per kind
the median seconds per submission, the requests made to the child, the grader's own CPU
time (this process's, without the child's) and the whole machine's busy CPU time (on a quiet
machine: the grader's, the child's and the forkserver's together, what a class pays).

``--profile FILE`` runs the timed rounds under cProfile and writes its statistics to FILE
(read them with ``python -m pstats FILE``; cProfile inflates the time about twice).

``--against DIR`` runs the same in another checkout (DIR, a clone at an older commit) in a
subprocess after this one, rounds interleaved, and prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus" / "02_multihead"
MIXES = {
    "correct": ("correct/einsum.py", "correct/bmm_flat_heads.py", "correct/float64_inside.py"),
    "buggy": ("buggy/no_scale.py", "buggy/mask_ignored.py", "buggy/softmax_query_axis.py"),
    "raising": ("bad_input/raises_in_forward.py",),
    "syntax": ("bad_input/syntax_error.py",),
    "hanging": ("bad_input/never_returns.py",),
}


def measure(root: Path, kinds: list[str], rounds: int, profile: str | None) -> dict[str, list[dict]]:
    """Per kind, one dict per graded submission: seconds, the grader's CPU seconds, requests, score."""
    sys.path.insert(0, str(root))
    from grader.run import session
    from grader.sandbox import proxy
    from grader.spec import load_exercise

    exercise = load_exercise(root / "exercises" / "02_multihead")
    requests = [0]
    original = proxy.Student._request

    def counted(self, *args, **kwargs):
        requests[0] += 1
        return original(self, *args, **kwargs)

    proxy.Student._request = counted
    phases = _time_phases()
    session.grade_submission(exercise=exercise, submission=CORPUS / MIXES["correct"][0], saved_records=False)
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    found: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            for name in MIXES[kind]:
                requests[0] = 0
                phases.clear()
                wall, cpu, busy = time.perf_counter(), time.process_time(), machine_busy()
                if profiler:
                    profiler.enable()
                result = session.grade_submission(exercise=exercise, submission=CORPUS / name, saved_records=False)
                if profiler:
                    profiler.disable()
                found[kind].append({"name": name, "seconds": time.perf_counter() - wall,
                                    "cpu": time.process_time() - cpu, "busy": machine_busy() - busy,
                                    "requests": requests[0],
                                    "score": result.score} | {k: v for k, v in phases.items()})
    if profiler:
        profiler.dump_stats(profile)
    try:
        from grader.kit import memo
        found["memo"] = memo.stats()   # what the input memory held and served
    except ImportError:   # a checkout without it
        pass
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy so far (/proc/stat): on a quiet machine, a run's delta
    is its own, every process it started included (the sandboxed children too, which no rusage counts)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _time_phases() -> dict[str, float]:
    """Wrap Hypothesis's shrink phase, its final run of the failing example and the submission's diagnosis
    with clocks (seconds, and calls of the test's body while shrinking); returns the dict they add to."""
    from hypothesis import core
    from hypothesis.internal.conjecture import engine

    from grader.run import plugin

    phases: dict[str, float] = {}
    shrinking = [False]

    def clocked(name, real, flag=None):
        def run(*args, **kwargs):
            started = time.perf_counter()
            if flag is not None:
                flag[0] = True
            try:
                return real(*args, **kwargs)
            finally:
                if flag is not None:
                    flag[0] = False
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started
        return run

    engine.ConjectureRunner.shrink_interesting_test_cases = clocked(
        "shrink", engine.ConjectureRunner.shrink_interesting_test_cases, shrinking)
    real_execute = core.StateForActualGivenExecution.execute_once

    def execute_once(self, data, *args, is_final=False, **kwargs):
        if shrinking[0]:
            phases["shrink_bodies"] = phases.get("shrink_bodies", 0) + 1
        if not is_final:
            return real_execute(self, data, *args, is_final=is_final, **kwargs)
        return clocked("final", real_execute)(self, data, *args, is_final=is_final, **kwargs)

    core.StateForActualGivenExecution.execute_once = execute_once
    plugin.diagnose_all = clocked("diagnose_all", plugin.diagnose_all)
    return phases


def summary(found: dict[str, list[dict]]) -> dict[str, tuple[float, float, float]]:
    return {kind: (statistics.median(r["seconds"] for r in rows), statistics.median(r["cpu"] for r in rows),
                   statistics.median(r["requests"] for r in rows), statistics.median(r.get("busy", 0.0) for r in rows))
            for kind, rows in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the mix (each submission once a round)")
    parser.add_argument("--mix", default="correct,buggy", help=f"kinds to grade, comma-separated: {list(MIXES)}")
    parser.add_argument("--profile", default=None, help="write cProfile statistics of the timed rounds here")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to measure the same way")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child's answer
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = args.mix.split(",")
    found = measure(args.root.resolve(), kinds, args.rounds, args.profile)
    if args.json:
        print(json.dumps(found))
        return
    kept = found.pop("memo", None)
    ours = summary(found)
    theirs = None
    if args.against is not None:
        done = subprocess.run([sys.executable, __file__, "--json", "--root", str(args.against.resolve()),
                               "--rounds", str(args.rounds), "--mix", args.mix],
                              capture_output=True, text=True, cwd=args.against, env={**os.environ,
                                                                                     "GRADE_REPLAY_CACHE": "off"})
        if done.returncode != 0:
            raise SystemExit(f"the other checkout failed:\n{done.stderr[-3000:]}")
        other = json.loads(done.stdout.strip().splitlines()[-1])
        other.pop("memo", None)
        for kind in kinds:
            differ = [(a["name"], a["score"], b["score"]) for a, b in zip(found[kind], other[kind])
                      if a["score"] != b["score"]]
            if differ:
                raise SystemExit(f"scores differ from {args.against}'s: {differ}")
        theirs = summary(other)
    print(f"02_multihead, one warm process, {args.rounds} rounds, load average {os.getloadavg()[0]:.2f}")
    if kept:
        print(f"input memory: {kept['hits']} hits, {kept['misses']} builds, {kept['entries']} entries, "
              f"{kept['bytes'] / 2**20:.1f} MiB")
    for kind in kinds:
        rows = found[kind]
        parts = {p: statistics.median(r.get(p, 0.0) for r in rows) for p in ("shrink", "shrink_bodies", "final",
                                                                          "diagnose_all")}
        if parts["shrink"] or parts["final"]:
            print(f"{kind}: medians per submission: shrinking {parts['shrink']:.3f} s "
                  f"({parts['shrink_bodies']:.0f} calls of a check's body), final examples {parts['final']:.3f} s, "
                  f"the diagnosis of the whole submission {parts['diagnose_all']:.3f} s")
    print(f"{'kind':>8} {'s/sub':>7} {'cpu s':>7} {'all cpu':>7} {'requests':>9}" + (f" {'other s/sub':>12} {'cpu s':>7} "
                                                                     f"{'ratio':>6}" if theirs else ""))
    for kind in kinds:
        seconds, cpu, requests, busy = ours[kind]
        line = f"{kind:>8} {seconds:7.3f} {cpu:7.3f} {busy:7.3f} {requests:9.0f}"
        if theirs:
            line += f" {theirs[kind][0]:12.3f} {theirs[kind][1]:7.3f} {theirs[kind][0] / seconds:5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
