"""Which known mistake does a wrong answer match?

A check hands over the student's (wrong) values and a way to compute each known
mistake's values from the same inputs. A diagnosis is given only when every
compared value matches the mistake's within the same tolerance the check uses
(NaN matching NaN); otherwise the generic mismatch message stands.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch

from grader import compare


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
