"""grader.figures: which slice of the attention weights a report draws, and when it draws none."""

from __future__ import annotations

import math

import pytest
import torch

from grader import results
from grader.kit import figures


def softmax_weights(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def test_returns_got_expected_and_difference_of_the_first_differing_head():
    expected = softmax_weights(2, 3, 4, 5)                                   # (B, H, Lq, Lk)
    got = expected.clone()
    got[0, 2, 1, 3] += 0.25                                                  # head 2 differs
    got[1, 1] = 0.0                                                          # batch item 1 is never drawn
    heatmaps = figures.attention_heatmaps(got, expected)
    assert len(heatmaps) == 3
    assert all(isinstance(h, results.Heatmap) for h in heatmaps)
    got_map, expected_map, diff_map = heatmaps
    assert all("head 2" in h.title and "batch item 0" in h.title for h in heatmaps)
    assert got_map.title.startswith("Your weights")
    assert expected_map.title.startswith("Expected weights")
    assert "difference" in diff_map.title.lower()
    assert len(got_map.rows) == 4 and all(len(r) == 5 for r in got_map.rows)   # queries down, keys across
    assert got_map.rows == tuple(tuple(r) for r in got[0, 2].tolist())
    assert expected_map.rows == tuple(tuple(r) for r in expected[0, 2].tolist())
    assert diff_map.rows[1][3] == pytest.approx(0.25)
    assert sum(abs(v) for row in diff_map.rows for v in row) == pytest.approx(0.25)
    assert got_map.row_label == "query position" and got_map.col_label == "key position"


def test_head_zero_when_no_head_differs():
    weights = softmax_weights(1, 4, 3, 3)
    heatmaps = figures.attention_heatmaps(weights, weights.clone())
    assert "head 0" in heatmaps[0].title
    assert all(v == 0 for row in heatmaps[2].rows for v in row)


def test_mask_marks_the_cells_that_may_not_attend():
    expected = softmax_weights(2, 2, 4, 4)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()                      # (Lq, Lk), True = may attend
    got = expected.clone()
    got[0, 0, 0, 3] = 0.5
    heatmaps = figures.attention_heatmaps(got, expected, causal)
    for heatmap in heatmaps:
        assert heatmap.masked == tuple(tuple(not v for v in row) for row in causal.tolist())


def test_padding_mask_broadcasts_over_heads_and_queries():
    expected = softmax_weights(2, 2, 3, 4)
    padding = torch.tensor([True, True, False, False]).expand(2, 1, 1, 4)   # (B, 1, 1, Lk)
    heatmaps = figures.attention_heatmaps(expected, expected, padding)
    assert heatmaps[0].masked == ((False, False, True, True),) * 3


def test_mask_that_does_not_fit_is_ignored():
    weights = softmax_weights(1, 1, 3, 3)
    heatmaps = figures.attention_heatmaps(weights, weights, torch.ones(5, 5, dtype=torch.bool))
    assert len(heatmaps) == 3 and heatmaps[0].masked is None


def test_nan_in_the_students_weights_is_kept_and_chosen_as_differing():
    expected = softmax_weights(1, 2, 2, 2)
    got = expected.clone()
    got[0, 1, 0, 0] = math.nan
    got_map, _, diff_map = figures.attention_heatmaps(got, expected)
    assert "head 1" in got_map.title
    assert math.isnan(got_map.rows[0][0]) and math.isnan(diff_map.rows[0][0])


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5)])
def test_three_and_two_dimensional_weights(shape):
    expected = softmax_weights(*shape)
    heatmaps = figures.attention_heatmaps(expected * 2, expected)
    assert len(heatmaps) == 3
    assert len(heatmaps[0].rows) == 3 and len(heatmaps[0].rows[0]) == 5
    assert "head" not in heatmaps[0].title


@pytest.mark.parametrize("got, expected", [
    (torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 4)),                      # shapes differ
    ([[0.5, 0.5]], torch.zeros(1, 2)),                                       # not a tensor
    (torch.zeros(1, 1, figures.MAX_CELLS + 1, 2), torch.zeros(1, 1, figures.MAX_CELLS + 1, 2)),  # too many queries
    (torch.zeros(1, 2, 3, figures.MAX_CELLS + 1), torch.zeros(1, 2, 3, figures.MAX_CELLS + 1)),  # too many keys
    (torch.zeros(5), torch.zeros(5)),                                        # not 2-D or more
    (torch.zeros(1, 1, 0, 3), torch.zeros(1, 1, 0, 3)),                      # empty
])
def test_nothing_to_draw(got, expected):
    assert figures.attention_heatmaps(got, expected) == ()


def test_largest_drawable_size():
    n = figures.MAX_CELLS
    heatmaps = figures.attention_heatmaps(torch.zeros(1, 1, n, n), torch.zeros(1, 1, n, n))
    assert len(heatmaps) == 3 and len(heatmaps[0].rows) == n


def test_heatmaps_survive_the_results_round_trip():
    expected = softmax_weights(1, 1, 2, 3)
    heatmaps = figures.attention_heatmaps(expected + 0.1, expected, torch.ones(2, 3, dtype=torch.bool))
    check = results.CheckResult(check_id="c", title="c", points=0, max_points=1, status=results.FAILED,
                                figures=heatmaps)
    grade = results.GradeResult(exercise="e", title="t", submission="s", checks=(check,), seed=0,
                                started_at="2024-01-01T00:00:00+00:00", duration=0.0, isolation="none",
                                command="grade e")
    assert results.GradeResult.from_dict(grade.to_dict()).checks[0].figures == heatmaps
