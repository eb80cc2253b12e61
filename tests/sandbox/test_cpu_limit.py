"""A call that computes without end is ended by its CPU time, not by the wall clock: a busy loop
costs ``call_cpu_seconds`` of the machine, not ``call_seconds``, and a busy machine (which stretches
a correct call's wall time, never its CPU time) cannot make a correct call run out of it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from conftest import sandboxed
from grader import errors, kit
from grader.sandbox import probe, process
from grader.spec import Limits

HEAD = '''import torch
class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
    def forward(self, query, key, value, mask=None):
        {forward}
        return self.out_proj(query), query
'''
BUSY = "while True: pass"
LEVELS = ["rlimits", pytest.param("namespaces", marks=pytest.mark.skipif(
    probe.strongest_available() != "namespaces", reason="no namespaces on this machine"))]


def _call(tmp_path: Path, forward: str, level: str, **limits) -> float:
    """Build the module, call it once; return the seconds the call took (or raise its error)."""
    with sandboxed(tmp_path, HEAD.format(forward=forward), isolation=level,
                   limits=Limits(total_seconds=60.0, **limits)) as student:
        module = student.new("MultiHeadAttention", 4, 2)
        x = torch.ones(1, 2, 4)
        started = time.monotonic()
        kit.forward(module, x, x, x)
        return time.monotonic() - started


@pytest.mark.parametrize("level", LEVELS)
def test_a_busy_loop_ends_at_its_cpu_limit_long_before_the_wall_clock_limit(tmp_path, level):
    """At the namespaces level the submission computes in a second process (PID 1 of its namespace):
    its CPU time counts too, or this loop would run for the whole 60 s."""
    started = time.monotonic()
    with pytest.raises(errors.Timeout) as caught:
        _call(tmp_path, BUSY, level, call_seconds=60.0, call_cpu_seconds=0.5)
    assert "0.5 s CPU time limit for one call while calling MultiHeadAttention.forward" in caught.value.summary
    assert time.monotonic() - started < 30   # 0.5 s of CPU after the first quarter second, even on a busy machine


def test_sleeping_uses_no_cpu_time_and_a_sleep_without_end_meets_the_wall_clock_limit(tmp_path):
    took = _call(tmp_path, "import time; time.sleep(1.0)", "rlimits", call_seconds=10.0, call_cpu_seconds=0.3)
    assert took >= 1.0   # slow in wall time (as on a busy machine), little CPU time: no time-out
    with pytest.raises(errors.Timeout) as caught:
        _call(tmp_path, "import time; time.sleep(60)", "rlimits", call_seconds=1.0, call_cpu_seconds=0.3)
    assert "Exceeded the 1 s time limit for one call" in caught.value.summary


def test_the_cpu_times_of_a_process_tree_include_its_processes_threads():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    done, release = context.Event(), context.Event()
    worker = context.Process(target=_spin_then_wait, args=(done, release))
    worker.start()
    try:
        assert done.wait(30)
        assert max(process.thread_cpu_times(worker.pid).values()) >= 0.3   # all of it in the worker's child
        assert max(process.thread_cpu_times(worker.pid, depth=0).values()) < 0.3
        assert process.thread_cpu_times(None) == {}   # nothing to say: never an error
    finally:
        release.set()
        worker.join(30)


def _spin_then_wait(done, release) -> None:   # in a forked process: 0.35 s of CPU in a child of its own
    import os

    pid = os.fork()
    if pid == 0:
        started = time.process_time()
        while time.process_time() - started < 0.35:
            pass
        done.set()
        release.wait(30)
        os._exit(0)
    os.waitpid(pid, 0)
