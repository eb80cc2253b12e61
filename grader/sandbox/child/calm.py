"""A call with dropout held off, for the diagnosis of a submission whose answers are random.

Untrusted side (see :mod:`grader.sandbox.child`). The contract asks for no dropout; a
submission that leaves it on answers each input differently, so no known mistake can be
matched against its answers and a second bug behind the dropout goes unnamed. A *calm*
call runs the submission as it would be with the dropout removed: every module of the
object called is in eval mode, and torch's dropout functions (which ignore eval mode when
called as ``F.dropout(x, p)``, whose ``training`` defaults to True) return their input.
Everything is put back after the call. The grader uses a calm answer only to name mistakes,
never to score (and only once two calm answers agree).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
import torch.nn.functional as F

DROPOUTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
            "feature_dropout")


def _unchanged(input, *args, inplace: bool = False, **kwargs):
    return input


@contextlib.contextmanager
def held(owner: Any) -> Iterator[None]:
    """Dropout off for the duration: ``owner`` (a module, or None) in eval mode, the dropout functions
    of ``torch.nn.functional`` and ``torch`` returning their input."""
    modes = [(m, m.training) for m in owner.modules()] if isinstance(owner, torch.nn.Module) else []
    saved = [(space, name, getattr(space, name)) for space in (F, torch) for name in DROPOUTS
             if hasattr(space, name)]
    try:
        for module, _ in modes:
            module.training = False
        for space, name, _ in saved:
            setattr(space, name, _unchanged)
        yield
    finally:
        for space, name, original in saved:
            setattr(space, name, original)
        for module, training in modes:
            module.training = training
