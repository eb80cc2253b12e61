"""Grading a class on a Dask cluster: ``grade class ... --scheduler tcp://HOST:PORT``.

``dask.distributed`` is an optional extra (``pip install "attention-grader[dask]"``). The
batch runner grades through any :class:`concurrent.futures.Executor`; here it gets the
one a ``dask.distributed.Client`` gives, so results come back as the same plain data,
and resuming and the gradebook work exactly as they do on one machine.

What each worker host needs: this package, at the same version as the grader that
submits the work; the exercise at the same path (or the exercises shipped inside the
package); and a sandbox that reaches the level the instructor requires. :func:`executor`
asks every worker before any grading starts and refuses a cluster where one falls short.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from concurrent.futures import Executor
from typing import Iterator

CONNECT_SECONDS = 30

MSG_NO_DASK = ("grading on a cluster needs dask.distributed, which is not installed here: "
               "pip install 'attention-grader[dask]'")
MSG_UNREACHABLE = "cannot reach the Dask scheduler at {address} ({error})"
MSG_NO_WORKERS = "the Dask scheduler at {address} has no workers"
MSG_VERSION = "worker {worker} runs attention-grader {theirs}, this grader {ours}: install the same version there"
MSG_LEVEL = ("worker {worker} reaches only the {level!r} sandbox, and {required!r} is required: "
             "grade there without it only by naming that level (see SECURITY.md)")


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


@contextlib.contextmanager
def executor(address: str, *, required_level: str | None = None,
             connect_seconds: float = CONNECT_SECONDS) -> Iterator[Executor]:
    """An Executor that runs tasks on the Dask cluster at ``address``, after checking its workers."""
    from grader import __version__

    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(MSG_NO_DASK) from None
    try:
        client = Client(address, timeout=connect_seconds)
    except (OSError, TimeoutError) as error:
        raise ClusterError(MSG_UNREACHABLE.format(address=address, error=error)) from None
    try:
        check_workers(client.run(worker_report), address=address, version=__version__,
                      required_level=required_level)
        yield client.get_executor()
    finally:
        client.close()
