"""Grading a class on a Dask cluster (``grade class ... --scheduler tcp://host:8786``).

Each submission is one task on the cluster, run by a worker that has this package
installed and sees the exercise and the submissions at the same paths (a shared file
system); the worker grades it exactly as a local worker would (its own sandboxed child,
the same seed), so the scores do not depend on where it ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from grader import results
from grader.spec import Exercise

MSG_MISSING = "--scheduler needs Dask's distributed package: pip install 'attention-grader[cluster]'."
MSG_UNREACHABLE = "cannot reach the Dask scheduler at {address} ({error})."


class ClusterError(RuntimeError):
    """The cluster cannot be used; the message says why."""


def remote_grade(exercise_root: str, path: str, seed: int, isolation: str, extra_checks: tuple[str, ...],
                 seed_hidden: bool) -> dict:
    """Runs on a Dask worker: grade in a fresh process of the worker's Python.

    Dask's worker processes are daemons, and a daemon may not start the sandbox's
    children; a process of its own may.
    """
    request = json.dumps({"exercise": exercise_root, "submission": path, "seed": seed, "isolation": isolation,
                          "extra_checks": list(extra_checks), "seed_hidden": seed_hidden})
    done = subprocess.run([sys.executable, "-m", "grader.run.cluster", request], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"grading {path} failed on the worker: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def _grade_here(request: dict) -> dict:
    from grader.run import session
    from grader.spec import load_exercise

    exercise = load_exercise(request["exercise"])
    return session.grade_submission(exercise=exercise, submission=Path(request["submission"]),
                                    seed=request["seed"], isolation=request["isolation"],
                                    extra_checks=tuple(Path(p) for p in request["extra_checks"]),
                                    seed_hidden=request["seed_hidden"]).to_dict()


def graded(address: str, exercise: Exercise, pending: list[tuple[str, Path]], seed: int,
           seed_hidden: bool, isolation: str,
           extra_checks: tuple[Path, ...]) -> Iterator[tuple[str, results.GradeResult]]:
    """(student, result) for every pending submission, in the order the cluster finishes them."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError(MSG_MISSING) from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(MSG_UNREACHABLE.format(address=address, error=error)) from None
    try:
        futures = {client.submit(remote_grade, str(exercise.root), str(path), seed, isolation,
                                 tuple(str(p) for p in extra_checks), seed_hidden,
                                 key=f"grade-{exercise.id}-{student}", pure=False): student
                   for student, path in pending}
        for future in as_completed(futures):
            yield futures[future], results.GradeResult.from_dict(future.result())
    finally:
        client.close()


if __name__ == "__main__":
    print(json.dumps(_grade_here(json.loads(sys.argv[1]))))
