"""A calm call (dropout held off, for a diagnosis) answers as the submission would without its dropout, and
leaves the submission as it was: the next ordinary call is random again, its modules in their own mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import sandboxed
from grader import kit
from grader.spec import Limits

SOURCE = '''import torch
import torch.nn.functional as F


class Noisy(torch.nn.Module):
    def __init__(self, functional):
        super().__init__()
        self.functional = functional
        self.drop = torch.nn.Dropout(0.5)
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        y = F.dropout(y, p=0.5) if self.functional else self.drop(y)   # F.dropout ignores eval mode
        return y, torch.tensor(self.training)
'''


@pytest.fixture
def student(tmp_path: Path):
    with sandboxed(tmp_path, SOURCE, limits=Limits(call_seconds=10.0, total_seconds=60.0)) as student:
        yield student


@pytest.mark.parametrize("functional", [False, True], ids=["nn.Dropout", "F.dropout"])
def test_a_calm_call_has_no_dropout_and_leaves_the_submission_as_it_was(student, functional):
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 8)
    state = {f"lin.{k}": v.detach() for k, v in lin.state_dict().items()}
    module = kit.build(student, "Noisy", functional, state=state)
    x = torch.randn(64, 8)
    plain = lin(x).detach()
    first, second = (module.run(x).value[0] for _ in range(2))
    assert not torch.equal(first, second)                     # random: the attack the calm call answers
    calm, training = module.run(x, calm=True).value
    torch.testing.assert_close(calm, plain)                   # as without dropout
    assert bool(training) is False                            # the module was in eval mode for the call
    again, training = module.run(x).value
    assert bool(training) is True                             # its own mode back
    assert not torch.equal(again, plain)                      # and its dropout (F.dropout put back too)
