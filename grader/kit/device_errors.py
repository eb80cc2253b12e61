"""Mistakes only a GPU shows, named from the error the submission raised there (part of the check kit).

A tensor made on the CPU inside the computation (``torch.zeros(n)``, ``torch.arange(L)``, a mask
from ``torch.ones(...)``) meets the inputs on the GPU; a ``.numpy()`` in the middle cannot
convert a GPU tensor. PyTorch's own messages say so in its terms (``wrapper_CUDA_mm``,
``argument mat2``); these say it in the student's, naming the operation where the message does.
:func:`grader.kit.diagnose.for_error` asks here first.
"""

from __future__ import annotations

import re

MSG_MIXED = ("Your code mixes devices: {where}a tensor created inside the computation is on the CPU while the "
             "inputs are on {device}. Create new tensors on the inputs' device (device=x.device, "
             "torch.zeros_like(x), x.new_zeros(...), torch.arange(L, device=x.device)).")
MSG_NUMPY = ("Your code goes through NumPy (.numpy()), which holds only CPU tensors: on {device} it fails, and "
             "everywhere it cuts the gradient. Stay in torch operations from input to output.")
MSG_GENERATOR = ("Your code draws random numbers with a CPU generator for a tensor on {device}; the contract's "
                 "functions need no randomness at all.")

_MIXED = re.compile(r"Expected all tensors to be on the same device, but (?:found at least two devices|got \w+ is on)"
                    r".*?(cuda(?::\d+)?)")
_OPERATION = re.compile(r"argument for argument (\w+) in method (?:wrapper_)?(?:CUDA_|CPU_)?(\w+)")
_NUMPY = re.compile(r"can't convert (cuda(?::\d+)?) device type tensor to numpy")
_GENERATOR = re.compile(r"Expected a '(cuda)' device type for generator")


def for_error(message: str, source: str | None = None) -> str | None:
    """The device mistake behind ``message`` (raised on the line ``source``), or None."""
    match = _NUMPY.search(message)
    if match:
        return MSG_NUMPY.format(device=match.group(1))
    match = _MIXED.search(message)
    if match:
        operation = _OPERATION.search(message)
        where = []
        if operation:
            where.append(f"the {operation.group(2)} operation got one (its argument {operation.group(1)})")
        if source:
            where.append(f"on the line `{source.strip()[:120]}`")
        text = (" ".join(where) + ": ") if where else ""
        return MSG_MIXED.format(where=text, device=match.group(1))
    match = _GENERATOR.search(message)
    if match:
        return MSG_GENERATOR.format(device=match.group(1))
    return None
