"""A module built for a check travels with its first call: one request instead of four, and every
stage's failure still names that stage (making it, converting it, loading its weights, calling it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import EXERCISES
from grader import errors, kit
from grader.sandbox.process import Sandbox
from grader.sandbox.proxy import Student, SubmissionRunner
from grader.spec import Limits, load_exercise

HEAD = '''import torch
class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        {init}
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
    def forward(self, query, key, value, mask=None):
        {forward}
        return self.out_proj(query), query
'''
STATE = {f"{n}.{p}": torch.zeros((4, 4) if p == "weight" else (4,), dtype=torch.float64)
         for n in ("q_proj", "k_proj", "v_proj", "out_proj") for p in ("weight", "bias")}


def _runner(tmp_path: Path, *, init: str = "pass", forward: str = "pass", call_seconds: float = 10.0):
    path = tmp_path / "solution.py"
    path.write_text(HEAD.format(init=init, forward=forward))
    limits = Limits(call_seconds=call_seconds, total_seconds=60.0)
    return SubmissionRunner(submission=path, limits=limits, isolation="rlimits")


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """Every request header sent to a child, in order."""
    headers: list[dict] = []
    original = Sandbox.send_packed   # what every request goes through (Sandbox.send too)

    def spy(self, header, packed, *, what):
        headers.append(dict(header))
        return original(self, header, packed, what=what)

    monkeypatch.setattr(Sandbox, "send_packed", spy)
    return headers


def _build_and_call(runner, state=STATE):
    module = kit.build(Student(runner), "MultiHeadAttention", 4, 2, state=state, dtype=torch.float64)
    x = torch.ones(1, 2, 4, dtype=torch.float64)
    return module, kit.forward(module, x, x, x)


def test_build_and_call_is_one_request_and_the_module_is_made_converted_and_loaded(tmp_path, sent):
    runner = _runner(tmp_path)
    try:
        module, reply = _build_and_call(runner)
        assert len(sent) == 1 and sent[0]["build"] == {"name": "MultiHeadAttention", "convert": "double"}, sent
        out, _ = reply.value
        assert out.dtype == torch.float64 and torch.equal(out, torch.zeros(1, 2, 4, dtype=torch.float64))  # loaded
        again = module(torch.ones(1, 2, 4, dtype=torch.float64), torch.ones(1, 2, 4, dtype=torch.float64),
                       torch.ones(1, 2, 4, dtype=torch.float64))
        assert len(sent) == 2 and "build" not in sent[1] and sent[1]["target"]["obj"] == module.key  # made once
        assert torch.equal(again[0], out)
    finally:
        runner.close()


def test_reading_the_layout_makes_it_first_and_loading_waits_for_the_call(tmp_path, sent):
    runner = _runner(tmp_path)
    try:
        module = kit.build(Student(runner), "MultiHeadAttention", 4, 2, state=STATE, dtype=torch.float64,
                           layout="MultiHeadAttention(4, 2)")
        assert [h["op"] for h in sent] == ["new", "call"]  # made, then converted (its layout is checked)
        assert module.parameters["q_proj.weight"][0] == [4, 4]
        x = torch.ones(1, 2, 4, dtype=torch.float64)
        assert torch.equal(kit.forward(module, x, x, x).value[0], torch.zeros(1, 2, 4, dtype=torch.float64))
        assert len(sent) == 3 and "build" not in sent[2]
    finally:
        runner.close()


@pytest.mark.parametrize("init, forward, state, stage", [
    ("raise RuntimeError('no init')", "pass", STATE, "RuntimeError while creating MultiHeadAttention(4, 2)"),
    ("pass", "raise RuntimeError('no forward')", STATE, "RuntimeError while calling MultiHeadAttention.forward"),
    ("pass", "pass", {"q_proj.weight": STATE["q_proj.weight"]}, "RuntimeError while loading weights into "
                                                                 "MultiHeadAttention"),
    ("self.double = None", "pass", STATE, "TypeError while calling MultiHeadAttention.double()"),
])
def test_an_error_names_the_stage_it_happened_in(tmp_path, init, forward, state, stage):
    runner = _runner(tmp_path, init=init, forward=forward)
    try:
        with pytest.raises(errors.StudentException) as caught:
            _build_and_call(runner, state)
        assert caught.value.summary.startswith(stage), caught.value.summary
    finally:
        runner.close()


@pytest.mark.parametrize("init, forward, stage", [
    ("import time; time.sleep(30)", "pass", "while creating MultiHeadAttention(4, 2)"),
    ("pass", "import time; time.sleep(30)", "while calling MultiHeadAttention.forward"),
])
def test_a_hang_names_its_stage_and_each_stage_has_its_own_time_limit(tmp_path, init, forward, stage):
    runner = _runner(tmp_path, init=init, forward=forward, call_seconds=1.0)
    try:
        with pytest.raises(errors.Timeout) as caught:
            _build_and_call(runner)
        assert stage in caught.value.summary, caught.value.summary
    finally:
        runner.close()


def test_making_and_calling_slowly_each_within_the_limit_is_no_time_out(tmp_path):
    """0.7 s to make it and 0.7 s to call it, under a 1 s limit per call: as four requests, it passed."""
    runner = _runner(tmp_path, init="import time; time.sleep(0.7)", forward="import time; time.sleep(0.7)",
                     call_seconds=1.0)
    try:
        _, reply = _build_and_call(runner)
        assert reply.value[0].shape == (1, 2, 4)
    finally:
        runner.close()


def test_a_missing_class_is_missing_for_every_call(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("x = 1\n")
    runner = SubmissionRunner(submission=path, limits=load_exercise(EXERCISES / "02_multihead").limits,
                              isolation="rlimits")
    try:
        with pytest.raises(errors.MissingName, match="does not define MultiHeadAttention"):
            _build_and_call(runner)
    finally:
        runner.close()


def test_an_oracle_with_a_key_is_computed_once_per_process_and_is_the_same_answer():
    calls = []

    def compute(dtype):
        calls.append(dtype)
        return torch.arange(3, dtype=dtype) * 2

    key = ("doubled", "a bundle")
    first = kit.oracle_pair(compute, dtype=torch.float32, key=key)
    again = kit.oracle_pair(compute, dtype=torch.float32, key=key)
    assert calls == [torch.float64, torch.float32] and again is first
    assert torch.equal(first[0], torch.arange(3, dtype=torch.float64) * 2) and first[1].dtype == torch.float32
    kit.oracle_pair(compute, dtype=torch.float16, key=key)         # another dtype: computed for it
    kit.oracle_pair(compute, dtype=torch.float32)                   # no key: computed every time
    assert len(calls) == 6
