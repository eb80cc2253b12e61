"""A real Dask cluster on this machine (a scheduler and two worker processes): the grader checks
every worker before it grades there, and refuses one that falls short."""

from __future__ import annotations

import pytest

from conftest import ROOT
from grader import __version__
from grader.run import cluster

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed (pip install -e '.[dask]')")


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_class=distributed.Nanny) as local:
        yield local.scheduler_address


def test_every_worker_reports_its_version_and_sandbox_level(scheduler):
    with distributed.Client(scheduler) as client:
        reports = client.run(cluster.worker_report)
    assert len(reports) == 2
    assert {r["version"] for r in reports.values()} == {__version__}
    assert {r["level"] for r in reports.values()} <= {"rlimits", "namespaces"}


def test_a_worker_grades_in_its_own_process_with_a_sandboxed_child(scheduler):
    # Dask's workers are daemons; grading there starts the sandbox's child all the same.
    with distributed.Client(scheduler) as client:
        saved = client.submit(cluster.remote_grade, str(ROOT / "exercises" / "01_softmax"),
                              str(ROOT / "attention_reference" / "softmax.py"), 0, "best", (), False).result()
    assert saved["checks"] and all(c["status"] == "passed" for c in saved["checks"])
    assert saved["isolation"] in ("rlimits", "namespaces")


def test_a_worker_of_another_version_or_a_weaker_sandbox_is_refused():
    good = {"version": __version__, "level": "namespaces"}
    cluster.check_workers({"tcp://a": good}, address="tcp://s", version=__version__, required_level="namespaces")
    with pytest.raises(cluster.ClusterError, match="runs attention-grader 0.0.1"):
        cluster.check_workers({"tcp://a": good, "tcp://b": {**good, "version": "0.0.1"}}, address="tcp://s",
                              version=__version__, required_level=None)
    with pytest.raises(cluster.ClusterError, match="reaches only the 'rlimits' sandbox"):
        cluster.check_workers({"tcp://b": {**good, "level": "rlimits"}}, address="tcp://s", version=__version__,
                              required_level="namespaces")
    with pytest.raises(cluster.ClusterError, match="has no workers"):
        cluster.check_workers({}, address="tcp://s", version=__version__, required_level=None)


def test_an_unreachable_scheduler_is_one_sentence():
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        next(cluster.graded("tcp://127.0.0.1:9", None, [], 0, False, "best", (), connect_seconds=1))
