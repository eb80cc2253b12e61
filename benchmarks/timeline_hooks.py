"""Timestamps inside one real `grade` process, for benchmarks/timeline.py (never imported by the grader).

Imported by the timed process before the command line runs (``install``): it patches, as each module
is first imported, the functions whose start and end make the timeline, and writes the events as
JSON when the process ends. Imported by the forkserver too (added to its preload list, after the
child's server): there it only notes when the preload is done, torch and the warm-up included.
"""

from __future__ import annotations

import atexit
import functools
import importlib.abc
import json
import os
import sys
import time

ENV = "GRADE_TIMELINE_FILE"
MARK = "/tmp/grade-timeline-forkserver-{pid}.json"
events: list[tuple[float, str]] = []
checks: dict[str, dict] = {}
_current: list[str | None] = [None]


def note(label: str) -> None:
    events.append((time.time(), label))


def _around(owner, name: str, label: str, once: bool = False) -> None:
    function = getattr(owner, name)
    seen = [0]

    @functools.wraps(function)
    def timed(*args, **kwargs):
        seen[0] += 1
        show = not once or seen[0] == 1
        if show:
            note(f"{label} begins" if seen[0] == 1 else f"{label} #{seen[0]} begins")
        try:
            return function(*args, **kwargs)
        finally:
            if show:
                note(f"{label} ends" if seen[0] == 1 else f"{label} #{seen[0]} ends")

    setattr(owner, name, timed)


class TimelinePlugin:
    """pytest hooks: collection, and every check's time, requests and examples."""

    def pytest_sessionstart(self, session):
        note("pytest session starts")

    def pytest_collection_finish(self, session):
        note(f"pytest collected {len(session.items)} checks")

    def pytest_runtest_logstart(self, nodeid, location):
        _current[0] = nodeid.split("::")[-1]
        checks[_current[0]] = {"began": time.time(), "requests": 0, "waited": 0.0, "examples": 0}

    def pytest_runtest_logfinish(self, nodeid, location):
        checks[_current[0]]["ended"] = time.time()
        _current[0] = None

    def pytest_sessionfinish(self, session):
        note("pytest session ends")


def _count_examples(plugin_module) -> None:
    original = plugin_module.GradingPlugin.pytest_pyfunc_call

    def counted(self, pyfuncitem):
        handle = getattr(getattr(pyfuncitem, "obj", None), "hypothesis", None)
        if handle is None:
            return original(self, pyfuncitem)
        inner = handle.inner_test

        @functools.wraps(inner)
        def one(*args, **kwargs):
            if _current[0] in checks:
                checks[_current[0]]["examples"] += 1
            return inner(*args, **kwargs)

        handle.inner_test = one
        try:
            return original(self, pyfuncitem)
        finally:
            handle.inner_test = inner

    plugin_module.GradingPlugin.pytest_pyfunc_call = functools.wraps(original)(counted)


def _patch(name: str, module) -> None:
    if name == "grader.sandbox.forkserver":
        module.CONTEXT.set_forkserver_preload([module.CHILD_ENTRY, "benchmarks.timeline_hooks"])  # the cwd is the root
        _around(module, "warm_up", "forkserver.warm_up (starts it)")
    elif name == "grader.api":
        _around(module, "grade", "api.grade (grader's imports done)")
    elif name == "grader.run.session":
        import pytest

        main = pytest.main

        def with_timeline(args, plugins=()):
            return main(args, plugins=[*plugins, TimelinePlugin()])

        pytest.main = with_timeline
    elif name == "grader.run.plugin":
        _count_examples(module)
    elif name == "grader.sandbox.process":
        _around(module.Sandbox, "start", "child start (fork, isolation, load, hello)")
        receive = module.Sandbox._receive

        def counted(self, budget, *, what):
            began = time.time()
            try:
                return receive(self, budget, what=what)
            finally:
                if _current[0] in checks:
                    checks[_current[0]]["requests"] += 1
                    checks[_current[0]]["waited"] += time.time() - began

        module.Sandbox._receive = counted
    elif name == "grader.outputs.report":
        _around(module, "write_student_report", "HTML report")
    elif name == "grader.outputs.terminal":
        _around(module, "summary", "terminal summary")


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patch the modules named in ``_patch`` as soon as they are imported."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("grader"):
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util

            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            note(f"imported {fullname}") if fullname in ("grader.api", "grader.run.session") else None
            _patch(fullname, module)

        spec.loader.exec_module = exec_module
        return spec


def _write() -> None:
    note("process exits")
    mark = MARK.format(pid=os.getpid())
    try:
        with open(mark) as f:
            events.append((json.load(f)["ready"], "forkserver has torch, the child's server and its warm-up"))
        os.unlink(mark)
    except (OSError, ValueError, KeyError):
        pass
    with open(os.environ[ENV], "w") as f:
        json.dump({"events": sorted(events), "checks": checks}, f)


def install(started: float) -> None:
    events.append((started, "python runs the first line"))
    sys.meta_path.insert(0, _AfterImport())
    atexit.register(_write)


if ENV not in os.environ:   # in the forkserver (its environment is minimal): the preload is done
    try:
        with open(MARK.format(pid=os.getppid()), "w") as f:
            json.dump({"ready": time.time()}, f)
    except OSError:
        pass
