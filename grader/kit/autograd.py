"""Gradients the grader takes of its own references, without torch's first-use cost.

``output.backward(grad_output)`` with a given output gradient has torch check that gradient's
shape through torch.fx's symbolic shapes, whose first use imports SymPy: most of a second of
every cold grade with a gradient check. :func:`backward` takes the same gradients another way.
"""

from __future__ import annotations

import torch


def backward(output: torch.Tensor, grad_output: torch.Tensor) -> None:
    """``output.backward(grad_output)``, bit for bit, without importing SymPy.

    It back-propagates from ``(output * grad_output).sum()``: the sum's gradient is ones, and the
    product's gradient for ``output`` is ``1 * grad_output``, which is ``grad_output`` exactly in
    every floating dtype; from there on it is the same backward pass. As torch does, a gradient of
    another shape is refused and one of another dtype is converted to the output's first.
    """
    if tuple(grad_output.shape) != tuple(output.shape):
        raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {tuple(grad_output.shape)} and "
                           f"output has a shape of {tuple(output.shape)}.")
    (output * grad_output.to(output.dtype)).sum().backward()
