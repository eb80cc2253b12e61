"""The kit spares a cold grade SymPy's import (most of a second): kit.backward gives the gradients of
output.backward(grad_output) bit for bit, and compare.matches tells broadcastable tolerances as torch does."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from grader import kit

FIRST_BACKWARD = """
import sys, torch
from grader import kit
x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
d = torch.randn(3, 4, dtype=torch.float64)
{way}
print("sympy" in sys.modules)
"""


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_the_gradients_are_those_of_backward_bit_for_bit(dtype):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(5, 7, generator=g, dtype=torch.float64) * 30).to(dtype)   # exp overflows float16
    x[0, 0], x[1, :] = float("nan"), float("-inf")                              # NaN and an all -inf row
    d = torch.randn(5, 7, generator=g, dtype=torch.float64).to(dtype)
    weight = torch.randn(7, 7, generator=g, dtype=torch.float64).to(dtype)
    grads = []
    for take in (lambda out: out.backward(d), lambda out: kit.backward(out, d)):
        leaf, w = x.clone().requires_grad_(True), weight.clone().requires_grad_(True)
        take(torch.softmax(leaf @ w, dim=-1).exp())
        grads.append((leaf.grad, w.grad))
    for direct, helped in zip(*grads):
        assert torch.equal(direct.nan_to_num(), helped.nan_to_num())
        assert torch.equal(direct.isnan(), helped.isnan())


def test_a_gradient_of_another_shape_is_refused_as_backward_refuses_it():
    out = torch.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        kit.backward(out, torch.ones(1))


def test_the_first_backward_imports_no_sympy():
    def sympy_after(way: str) -> bool:
        done = subprocess.run([sys.executable, "-c", FIRST_BACKWARD.format(way=way)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip() == "True"

    assert not sympy_after("kit.backward(x * 2, d)")
    assert sympy_after("(x * 2).backward(d)")   # what it spares: torch's own first backward with a gradient


SHAPES = [(), (1,), (3,), (0,), (2, 3), (1, 3), (2, 1), (3, 2), (4, 2, 3), (4, 1, 1), (0, 3), (5, 0, 1)]


@pytest.mark.parametrize("first", SHAPES)
def test_matches_tells_broadcastable_tolerances_as_torch_does(first):
    from grader.kit.compare import _broadcastable

    for second in SHAPES:
        try:
            torch.broadcast_shapes(first, second)
            expected = True
        except RuntimeError:
            expected = False
        assert _broadcastable(first, second) == expected, (first, second)


def test_matching_a_known_mistake_imports_no_sympy():
    done = subprocess.run([sys.executable, "-c", "import sys, torch\nfrom grader.kit import compare\n"
                           "x = torch.ones(2, 3, dtype=torch.float64)\n"
                           "print(compare.matches(x, x, torch.full((2, 3), 1e-9)), compare.matches(x, x, torch.ones(4)),"
                           " 'sympy' in sys.modules)"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "False"]
