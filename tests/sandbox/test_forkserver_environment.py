"""The forkserver, which every child and batch worker is forked from, starts with an empty environment:
its /proc/<pid>/environ (what a child reads as the environment it started with) holds nothing of the
grader's."""

from __future__ import annotations

import os

import pytest

from grader.sandbox import forkserver


def test_the_forkserver_started_with_nothing_of_the_graders_environment():
    os.environ.setdefault("GRADE_TEST_TOKEN", "secret")   # present if the forkserver starts now
    forkserver.warm_up()
    pid = forkserver._SERVER._forkserver_pid
    if pid is None or not os.path.exists(f"/proc/{pid}/environ"):
        pytest.skip("no /proc to read the forkserver's environment from")
    with open(f"/proc/{pid}/environ", "rb") as environ:
        assert environ.read() == b""
