"""A call can keep its autograd graph in the child for the ``backward`` that follows it: a training step
asks for logits, computes the loss in the grader, then gets the parameters' gradients of that very forward
pass, without the child computing forward a second time (03's training loop: 80 forward passes, not 160).
"""

from __future__ import annotations

import pytest
import torch

from conftest import sandboxed
from grader import errors
from grader.sandbox.proxy import Grad
from grader.spec import Limits

MODEL = '''import torch
FORWARDS = [0]
class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.unused = torch.nn.Linear(3, 2)
    def forward(self, x, detach=False):
        FORWARDS[0] += 1
        out = torch.tanh(self.linear(x))
        return (out.detach() if detach else out), x.sum()
def forwards():
    return FORWARDS[0]
'''
STATE = {"linear.weight": torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3),
         "linear.bias": torch.tensor([0.5, -0.25], dtype=torch.float64),
         "unused.weight": torch.zeros(2, 3, dtype=torch.float64), "unused.bias": torch.zeros(2, dtype=torch.float64)}


@pytest.fixture
def student(tmp_path):
    with sandboxed(tmp_path, MODEL, limits=Limits(call_seconds=10.0, total_seconds=60.0)) as student:
        yield student


def _model(student):
    model = student.new("Model")
    model.method("double")
    return model


def test_backward_gives_the_gradients_of_the_kept_forward_pass_computed_once(student):
    x = torch.tensor([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], dtype=torch.float64)
    d_out = torch.tensor([[1.0, -2.0], [0.5, 4.0]], dtype=torch.float64)
    model = _model(student)
    again = model.run(x, state=STATE, grad=Grad(grad_outputs=(d_out, None), params=True))
    before = student.call("forwards")
    kept = model.run(x, state=STATE, keep_graph=True)
    reply = model.backward(d_out, None)
    assert student.call("forwards") == before + 1   # one forward pass for the logits and the gradients
    assert torch.equal(kept.value[0], again.value[0])
    assert reply.has_graph and set(reply.param_grads) == set(again.param_grads)
    for name, grad in again.param_grads.items():
        if grad is None:
            assert reply.param_grads[name] is None, name   # a parameter forward never used has no gradient
        else:
            assert torch.equal(reply.param_grads[name], grad), name
    linear = torch.nn.Linear(3, 2).double()
    linear.load_state_dict({"weight": STATE["linear.weight"], "bias": STATE["linear.bias"]})
    torch.autograd.backward(torch.tanh(linear(x)), d_out)
    assert torch.allclose(reply.param_grads["linear.weight"], linear.weight.grad)


def test_an_output_outside_any_graph_is_told(student):
    x = torch.ones(1, 3, dtype=torch.float64)
    model = _model(student)
    model.run(x, True, state=STATE, keep_graph=True)
    reply = model.backward(torch.ones(1, 2, dtype=torch.float64), None)
    assert not reply.has_graph


def test_a_kept_graph_serves_the_very_next_request_only(student):
    x = torch.ones(1, 3, dtype=torch.float64)
    model = _model(student)
    model.run(x, state=STATE, keep_graph=True)
    assert student.call("forwards") == 1
    with pytest.raises(errors.SandboxFailure, match="unexpected reply"):
        model.backward(torch.ones(1, 2, dtype=torch.float64), None)


def test_without_keep_graph_there_is_nothing_to_back_propagate(student):
    x = torch.ones(1, 3, dtype=torch.float64)
    model = _model(student)
    model.run(x, state=STATE)
    with pytest.raises(errors.SandboxFailure, match="unexpected reply"):
        model.backward(torch.ones(1, 2, dtype=torch.float64), None)
