"""Pictures for reports: small 2-D slices of attention weights, as ``results.Heatmap`` values.

A check that compares attention weights passes ``attention_heatmaps`` (through a
lambda) to ``kit.assert_close``; the heatmaps travel with the failure into the
results model, and the HTML report draws them. This module only picks what to
draw and turns it into plain floats; the drawing itself is ``grader.outputs.svg``'s.

Weights are (B, H, Lq, Lk), (B, Lq, Lk) or (Lq, Lk). We draw the first batch item
and the first head whose weights differ, so the picture shows a mistake rather
than a head that happens to be right.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from grader import results

MAX_CELLS = 12  # largest Lq and Lk drawn: a figure is for looking at, not scrolling
DIFFERS = 1e-6  # a head "differs" when some weight is further than this from the expected one

TITLE_GOT = "Your weights{where}"
TITLE_EXPECTED = "Expected weights{where}"
TITLE_DIFFERENCE = "Difference: yours \u2212 expected{where}"


def attention_heatmaps(got_weights: Any, expected_weights: Any,
                       mask: Any = None) -> tuple[results.Heatmap, ...]:
    """(got, expected, difference) heatmaps of one small (Lq, Lk) slice, or () if none can be drawn.

    ``mask`` is the boolean mask given to the attention (True = may attend), in any
    shape that broadcasts to the weights; masked-out cells are marked in the picture.
    Returns () when the weights are not tensors of the same shape with at least two
    dimensions, or when Lq or Lk exceeds ``MAX_CELLS``.
    """
    if not isinstance(got_weights, torch.Tensor) or not isinstance(expected_weights, torch.Tensor):
        return ()
    if tuple(got_weights.shape) != tuple(expected_weights.shape) or got_weights.dim() not in (2, 3, 4):
        return ()
    *_, Lq, Lk = got_weights.shape
    if not (0 < Lq <= MAX_CELLS and 0 < Lk <= MAX_CELLS) or got_weights.numel() == 0:
        return ()
    got = got_weights.detach().cpu().to(torch.float64)
    expected = expected_weights.detach().cpu().to(torch.float64)
    allowed = _broadcast_mask(mask, tuple(got.shape))

    # Bring every layout to (B, H, Lq, Lk) so one indexing rule serves all.
    got, expected = _as_4d(got), _as_4d(expected)
    allowed = _as_4d(allowed) if allowed is not None else None
    head = _first_differing_head(got[0], expected[0])
    where = _where(got_weights.dim(), head)

    got_2d, expected_2d = got[0, head], expected[0, head]                   # (Lq, Lk)
    masked = None if allowed is None else _rows(~allowed[0, head])
    difference = got_2d - expected_2d
    return (
        results.Heatmap(title=TITLE_GOT.format(where=where), rows=_rows(got_2d), masked=masked),
        results.Heatmap(title=TITLE_EXPECTED.format(where=where), rows=_rows(expected_2d), masked=masked),
        results.Heatmap(title=TITLE_DIFFERENCE.format(where=where), rows=_rows(difference), masked=masked),
    )


def _as_4d(t: torch.Tensor) -> torch.Tensor:
    if t.dim() == 3:
        return t.unsqueeze(1)                                                # (B, Lq, Lk) -> (B, 1, Lq, Lk)
    if t.dim() == 2:
        return t[None, None]                                                 # (Lq, Lk) -> (1, 1, Lq, Lk)
    return t


def _first_differing_head(got: torch.Tensor, expected: torch.Tensor) -> int:
    """Index of the first head (dim 0 of (H, Lq, Lk)) whose weights differ; 0 if none does."""
    diff = (got - expected).abs()
    both_nan = torch.isnan(got) & torch.isnan(expected)
    diff = torch.where(both_nan, torch.zeros_like(diff), diff.nan_to_num(math.inf, math.inf, math.inf))
    per_head = diff.flatten(1).amax(dim=1)                                  # (H,)
    differing = torch.nonzero(per_head > DIFFERS).flatten()
    return int(differing[0]) if differing.numel() else 0


def _broadcast_mask(mask: Any, shape: tuple[int, ...]) -> torch.Tensor | None:
    """The mask as a bool tensor of ``shape``, or None if there is none or it does not fit."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        return None
    try:
        return torch.broadcast_to(mask.detach().cpu(), shape)
    except RuntimeError:
        return None


def _where(dims: int, head: int) -> str:
    if dims == 4:
        return f" (batch item 0, head {head})"
    if dims == 3:
        return " (batch item 0)"
    return ""


def _rows(matrix: torch.Tensor) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(v for v in row) for row in matrix.tolist())
