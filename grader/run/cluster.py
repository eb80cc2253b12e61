"""Grading a class on a Dask cluster: ``grade class ... --scheduler tcp://HOST:PORT``.

``dask.distributed`` is an optional extra (``pip install "attention-grader[dask]"``). Each
submission is one task; the worker grades it exactly as a local worker would (its own
sandboxed child, the same seed), so the scores do not depend on where it ran, and
results come back as the same plain data, so resuming and the gradebook work as locally.

What each worker host needs: this package, at the same version as the grader that
submits the work; the exercise and the submissions at the same paths (a shared file
system, or the exercises shipped inside the package); and a sandbox that reaches the
level the class is graded at. :func:`graded` asks every worker before any grading starts
and refuses a cluster where one falls short. Start workers with one thread each
(``dask worker ADDRESS --nthreads 1 --nworkers N``): a worker grades one submission at
a time whatever its threads.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Iterator

from grader import results
from grader.spec import Exercise

CONNECT_SECONDS = 30

MSG_NO_DASK = ("grading on a cluster needs dask.distributed, which is not installed here: "
               "pip install 'attention-grader[dask]'")
MSG_UNREACHABLE = "cannot reach the Dask scheduler at {address} ({error})"
MSG_NO_WORKERS = "the Dask scheduler at {address} has no workers"
MSG_VERSION = "worker {worker} runs attention-grader {theirs}, this grader {ours}: install the same version there"
MSG_LEVEL = ("worker {worker} reaches only the {level!r} sandbox, and the class is graded at {required!r}: "
             "grade there only by naming that level (see SECURITY.md)")

_ONE_AT_A_TIME = threading.Lock()  # a worker's threads share one process: one pytest session at a time


class ClusterError(Exception):
    """The cluster cannot grade (no Dask, no scheduler, no workers, a worker that falls short)."""


def allow_children() -> None:
    """Let this process start sandboxed children although Dask made it a daemon.

    Dask's worker processes are daemonic, and ``multiprocessing`` refuses to start
    children from a daemon; grading a submission starts one. The flag only tells
    ``multiprocessing`` whether to kill those children when this process exits, which
    the sandbox does itself.
    """
    multiprocessing.current_process().daemon = False


def worker_report() -> dict[str, str]:
    """What a worker can do, asked on every worker before grading: version and sandbox level."""
    from grader import __version__
    from grader.sandbox import probe

    allow_children()
    return {"version": __version__, "level": probe.strongest_available()}


def check_workers(reports: dict[str, dict[str, str]], *, address: str, version: str,
                  required_level: str | None) -> None:
    """Raise :class:`ClusterError` unless every worker runs ``version`` and reaches ``required_level``."""
    if not reports:
        raise ClusterError(MSG_NO_WORKERS.format(address=address))
    for worker, report in sorted(reports.items()):
        if report.get("version") != version:
            raise ClusterError(MSG_VERSION.format(worker=worker, theirs=report.get("version"), ours=version))
        if required_level is not None and report.get("level") != required_level:
            raise ClusterError(MSG_LEVEL.format(worker=worker, level=report.get("level"), required=required_level))


def remote_grade(exercise_root: str, path: str, seed: int, isolation: str, extra_checks: tuple[str, ...],
                 seed_hidden: bool) -> dict:
    """Runs on a Dask worker: grade one submission there, hand back the result as plain data."""
    from grader.run import session
    from grader.spec import load_exercise

    allow_children()
    with _ONE_AT_A_TIME:
        exercise = load_exercise(exercise_root)
        return session.grade_submission(exercise=exercise, submission=Path(path), seed=seed, isolation=isolation,
                                        extra_checks=tuple(Path(p) for p in extra_checks),
                                        seed_hidden=seed_hidden, saved_records=False).to_dict()


def _client(address: str, connect_seconds: float):
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(MSG_NO_DASK) from None
    try:
        return Client(address, timeout=connect_seconds)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(MSG_UNREACHABLE.format(address=address, error=error)) from None


def graded(address: str, exercise: Exercise, pending: list[tuple[str, Path]], seed: int, seed_hidden: bool,
           isolation: str, extra_checks: tuple[Path, ...], *,
           connect_seconds: float = CONNECT_SECONDS) -> Iterator[tuple[str, results.GradeResult]]:
    """(student, result) for every pending submission, in the order the cluster finishes them.

    Every worker is checked first: the same version of this package, and the sandbox
    level the class is graded at (``isolation``, when it names one).
    """
    from grader import __version__, wire

    client = _client(address, connect_seconds)
    try:
        from distributed import as_completed

        # A class graded at "best" is graded at the namespaces level (or refused), on every worker too.
        required = isolation if isolation in wire.LEVELS else wire.LEVEL_NAMESPACES
        check_workers(client.run(worker_report), address=address, version=__version__, required_level=required)
        futures = {client.submit(remote_grade, str(exercise.root), str(path), seed, isolation,
                                 tuple(str(p) for p in extra_checks), seed_hidden,
                                 key=f"grade-{exercise.id}-{student}", pure=False): student
                   for student, path in pending}
        paths = dict(pending)
        for future in as_completed(futures):
            try:
                result = results.GradeResult.from_dict(future.result())
            except Exception as error:  # the task failed even after Dask's retries: that student only
                from grader.run import session

                result = session.not_graded(exercise, paths[futures[future]], seed, isolation, error)
            yield futures[future], result
    finally:
        client.close()
