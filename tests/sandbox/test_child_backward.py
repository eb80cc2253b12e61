"""The child back-propagates the grader's output gradients without importing SymPy (torch's check of given
output gradients would, half a second of the forkserver's start), and gets torch's gradients bit for bit."""

from __future__ import annotations

import pytest
import torch

from conftest import sandboxed
from grader import errors
from grader.sandbox.proxy import Grad
from grader.spec import Limits

MODEL = '''import sys
import torch
class Model(torch.nn.Module):
    """Its output is a transposed view (not contiguous), and a second output needs no gradient."""
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
    def forward(self, x):
        h = torch.softmax(self.linear(x) * 3.0, dim=-1)
        return (h @ x.transpose(-1, -2)).transpose(-1, -2), x.sum()
def loaded():
    return [name for name in ("sympy", "torch.fx.experimental.symbolic_shapes") if name in sys.modules]
'''


@pytest.fixture
def student(tmp_path):
    with sandboxed(tmp_path, MODEL, limits=Limits(call_seconds=10.0, total_seconds=60.0)) as student:
        yield student


def _in_process(state, x, d_out, dtype):
    """The same model and input here, with torch's own backward given the output gradient."""
    namespace: dict = {}
    exec(MODEL, namespace)
    model = namespace["Model"]().to(dtype)
    model.load_state_dict(state)
    leaf = x.clone().requires_grad_(True)
    out, _ = model(leaf)
    torch.autograd.backward([out], [d_out])
    return leaf.grad, {name: p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
def test_the_childs_gradients_are_torchs_bit_for_bit_and_no_sympy_is_loaded(student, dtype):
    g = torch.Generator().manual_seed(3)
    state = {"linear.weight": torch.randn(4, 4, generator=g, dtype=torch.float64).to(dtype),
             "linear.bias": torch.randn(4, generator=g, dtype=torch.float64).to(dtype)}
    x = torch.randn(2, 3, 4, generator=g, dtype=torch.float64).to(dtype)
    d_out = torch.randn(2, 3, 3, generator=g, dtype=torch.float64).to(dtype)
    module = student.new("Model")
    module.to_dtype(dtype)
    reply = module.run(x, state=state, grad=Grad(wrt=(0,), grad_outputs=(d_out, None), params=True))
    input_grad, param_grads = _in_process(state, x, d_out, dtype)
    assert reply.has_graph
    assert torch.equal(reply.input_grads[0], input_grad)
    assert set(reply.param_grads) == set(param_grads)
    for name, grad in param_grads.items():
        assert torch.equal(reply.param_grads[name], grad), name
    assert student.call("loaded") == []   # neither the forkserver nor this child imported them


def test_a_gradient_of_another_shape_is_refused_in_torchs_words(student):
    module = student.new("Model")
    x, wrong = torch.ones(2, 3, 4), torch.ones(2, 3, 4)   # the output is (2, 3, 3)
    with pytest.raises(RuntimeError) as torchs:
        namespace: dict = {}
        exec(MODEL, namespace)
        torch.autograd.backward([namespace["Model"]()(x)[0]], [wrong])
    with pytest.raises(errors.StudentException) as raised:
        module.run(x, grad=Grad(grad_outputs=(wrong, None), params=True))
    assert str(raised.value) == f"RuntimeError while calling Model.forward: {torchs.value}"
