"""Does replay change anything? Every corpus entry graded alone, and again after all the others.

Run on purpose (not a test; minutes per exercise)::

    python scripts/replay_equivalence.py [EXERCISE ...]

For each exercise (all four by default), grades every corpus entry in this process with nothing
recorded (``replay.forget()`` before each: Hypothesis runs every check), then grades all of them
once more, in order and then in reverse, in one process that keeps every record and failing run
(:mod:`grader.run.replay`), as a class's worker does: each entry then starts from the passing
runs and the failing runs of many others. Every result must be what it was alone, to the last
field (durations aside). Prints each entry that differs, with the fields, and exits 1 if any does.

The hostile entries that take their whole time limit (memory, busy threads, sleeping) are left
out: they are the slowest and fail for every input at their first request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
SLOW = ("eats_memory", "busy_threads", "sleeps_forever")


def comparable(result) -> dict:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("duration", "started_at")}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value
    return json.loads(json.dumps(strip(result.to_dict()), sort_keys=True))


def differences(alone: dict, together: dict) -> list[str]:
    found = []
    for a, b in zip(alone["checks"], together["checks"]):
        found += [f"{a['check_id']}.{k}: {str(a[k])[:200]!r} | {str(b.get(k))[:200]!r}" for k in a if a[k] != b.get(k)]
    found += [f"{k}: {str(alone[k])[:200]!r} | {str(together.get(k))[:200]!r}"
              for k in alone if k != "checks" and alone[k] != together.get(k)]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*", default=[p.name for p in sorted(CORPUS.iterdir()) if p.is_dir()])
    args = parser.parse_args()
    os.environ["GRADE_REPLAY_CACHE"] = "off"   # in this process's memory only, as a class's worker
    sys.path.insert(0, str(ROOT))
    from grader.run import replay, session
    from grader.spec import load_exercise

    differ = 0
    for name in args.exercises:
        exercise = load_exercise(ROOT / "exercises" / name)
        entries = [p for p in sorted((CORPUS / name).rglob("*.py")) if not any(s in p.name for s in SLOW)]

        def grade(path: Path) -> dict:
            return comparable(session.grade_submission(exercise=exercise, submission=path, devices=("cpu",)))

        started = time.perf_counter()
        alone = {}
        for path in entries:
            replay.forget()
            alone[path] = grade(path)
        alone_s = time.perf_counter() - started
        replay.forget()
        started = time.perf_counter()
        here = 0
        for path in entries + entries[::-1]:
            found = differences(alone[path], grade(path))
            if found:
                here += 1
                print(f"DIFFERS {name}/{path.relative_to(CORPUS / name)}", *(f"    {f}" for f in found), sep="\n")
        together_s = (time.perf_counter() - started) / 2
        replay.forget()
        differ += here
        print(f"{name}: {len(entries)} entries; alone {alone_s:.1f} s, together {together_s:.1f} s a pass; "
              f"differ: {here}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
