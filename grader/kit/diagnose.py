"""Which known mistake does a wrong answer match? (Part of the check kit, :mod:`grader.kit`.)

A check hands over the student's (wrong) values and a way to compute each known
mistake's values from the same inputs. A diagnosis is given only when every
compared value matches the mistake's within the same tolerance the check uses
(NaN matching NaN); otherwise the generic mismatch message stands.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

import torch

from grader.kit import compare


def matching(got: Sequence[Any], mistakes: Iterable[Any], compute: Callable[[Any], Sequence[Any]],
             allowed: Sequence[torch.Tensor], correct: Sequence[Any] | None = None) -> list[Any]:
    """Every mistake whose computed values all equal ``got`` within ``allowed``.

    With ``correct`` (the right answer), mistakes that give the right answer on this
    input are skipped: they cannot explain a wrong one (a mask mistake without a mask).
    """
    found = []
    for mistake in mistakes:
        try:
            expected = compute(mistake)
        except Exception:  # a mistake that does not apply to these inputs (shapes, say)
            continue
        if len(expected) != len(got):
            continue
        if correct is not None and all(compare.matches(c, e, a) for c, e, a in zip(correct, expected, allowed)):
            continue
        if all(g is not None and compare.matches(g, e, a) for g, e, a in zip(got, expected, allowed)):
            found.append(mistake)
    return found


MSG_AMBIGUOUS = "On this input, these mistakes give the same numbers: {messages}"


def describe(found: Sequence[Any]) -> str | None:
    """The message of the one matching mistake; all of them when the input cannot tell them apart."""
    if not found:
        return None
    if len(found) == 1:
        return found[0].message
    return MSG_AMBIGUOUS.format(messages=" Or: ".join(m.message for m in found))


def message(got: Sequence[Any], mistakes: Iterable[Any], compute: Callable[[Any], Sequence[Any]],
            allowed: Sequence[torch.Tensor]) -> str | None:
    """The diagnosis for ``got``, or None when it matches no known mistake."""
    return describe(matching(got, mistakes, compute, allowed))


# -- mistakes named from the error a submission raised ------------------------------

_HALF_NAMES = {"Half": ("float16", 65504.0), "BFloat16": ("bfloat16", 3.39e38)}

# (pattern in the exception's message, what the student is told); the first match wins.
ERROR_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are available"
                r"|CUDA driver initialization failed"),
     "Your code puts a tensor on the GPU by name ('cuda', .cuda()), and there is no GPU here. Create "
     "tensors on the inputs' device instead (device=query.device, torch.zeros_like(x), x.new_zeros(...)), "
     "so your code runs wherever it is called."),
    (re.compile(r"Expected all tensors to be on the same device"),
     "Your code mixes devices: a tensor you create is on another device than the inputs. Create new "
     "tensors with device=x.device (or torch.zeros_like / x.new_zeros)."),
    (re.compile(r"value cannot be converted to type (?:c10::|at::)?(\w+) without overflow"),
     "A constant you fill with does not fit in {dtype} (its largest magnitude is about {largest:g}): fill "
     "with float('-inf'), or torch.finfo(x.dtype).min, not a constant such as -1e9."),
    (re.compile(r"expected (?:m1 and m2|mat1 and mat2) to have the same dtype|expected scalar type \w+ but found"),
     "Your code mixes dtypes: a tensor you create has a different dtype from the inputs (float32 next to "
     "float64, say). Create new tensors with dtype=x.dtype (or torch.zeros_like / x.new_zeros)."),
)


def for_error(message: str) -> str | None:
    """The known mistake behind an exception's ``message``, or None."""
    for pattern, text in ERROR_PATTERNS:
        match = pattern.search(message)
        if match:
            dtype, largest = _HALF_NAMES.get(match.group(1), (match.group(1), 0.0)) if match.groups() \
                else ("", 0.0)
            return text.format(dtype=dtype, largest=largest)
    return None
