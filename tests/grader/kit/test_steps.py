"""Answers a check computes once per grading process (kit.oracle_pair, kit.remembered)."""

from __future__ import annotations

import torch

from grader import kit
from grader.kit import compare, strategies


def _counted():
    calls = []

    def compute(dtype=torch.float64):
        calls.append(dtype)
        return torch.arange(6, dtype=torch.float64).reshape(2, 3).to(dtype) / 7

    return calls, compute


def test_an_oracle_pair_is_computed_once_per_key_dtype_and_device():
    calls, compute = _counted()
    first = kit.oracle_pair(compute, dtype=torch.float32, key=("test_steps", 1))
    assert kit.oracle_pair(compute, dtype=torch.float32, key=("test_steps", 1)) is first
    assert calls == [torch.float64, torch.float32]
    kit.oracle_pair(compute, dtype=torch.float16, key=("test_steps", 1))
    kit.oracle_pair(compute, dtype=torch.float32, key=("test_steps", 2))
    with strategies.on_device("meta"):   # a check on another device gets its own (its tensors are there)
        kit.oracle_pair(compute, dtype=torch.float32, key=("test_steps", 1))
    assert len(calls) == 8
    kit.oracle_pair(compute, dtype=torch.float32)   # no key: computed every time
    kit.oracle_pair(compute, dtype=torch.float32)
    assert len(calls) == 12


def test_a_remembered_answer_is_computed_once_and_its_budgets_too(monkeypatch):
    calls, compute = _counted()
    grads = kit.remembered(lambda: {"query": compute()}, key=("test_steps", "grads"))
    assert kit.remembered(lambda: {"query": compute()}, key=("test_steps", "grads")) is grads
    assert len(calls) == 1
    budgets = []
    real = compare._compute_budget
    monkeypatch.setattr(compare, "_compute_budget", lambda *a: budgets.append(1) or real(*a))
    for _ in range(3):
        compare.assert_close(grads["query"].clone(), oracle=grads["query"], ref=grads["query"], name="g",
                             budget="grad")
    assert len(budgets) == 1
