"""The known mistakes of 02_multihead are far from right on the grader's inputs, and the
inputs used to tell them apart do tell every pair apart."""

from __future__ import annotations

import pytest
import torch

from grader.kit import compare, diagnose
from grader.kit.strategies import MHAInputs, padded_mha_inputs, rich_mha_inputs
from attention_reference import multihead as ref
from attention_reference.mistakes import multihead as mistakes

KINDS = ("none", "causal", "random", "fully_masked_rows", "padded")
# Near misses by nature, matched within the float32 budget (computed in float32) or by their exact values (a
# float32-rounded scale): far outside the float64 budget they fail, not outside the float32 one used here.
NEAR = {"computed_in_float32", "float32_scale_constant"}
# With two batch items and two heads, both wrong mask layouts give head h the mask of item h; three items
# (the padded probe) tell them apart.
MASK_LAYOUTS = {"mask_wrong_batch_items", "mask_wrong_batch_items_repeat"}


def _rich(kind: str) -> MHAInputs:
    return padded_mha_inputs() if kind == "padded" else rich_mha_inputs(kind)


def _matching(got, inputs: MHAInputs) -> list:
    """The known mistakes whose float64 output equals ``got`` on ``inputs`` (as the checks match them)."""
    q, k, v, mask = inputs.tensors()
    params = inputs.state_dict()
    exact = ref.multihead_attention(q, k, v, params, inputs.num_heads, mask)
    allowed = [compare.allowed_error(e, e) for e in exact]
    return diagnose.matching(got, mistakes.MISTAKES, lambda m: mistakes.run(m, q, k, v, params, inputs.num_heads,
                                                                          mask), allowed, correct=exact)


@pytest.mark.parametrize("mistake", [m for m in mistakes.MISTAKES if m.id not in NEAR], ids=lambda m: m.id)
def test_every_mistake_is_far_outside_the_tolerance_on_some_grader_input(mistake):
    """Judges that shrink inputs until an all-zeros answer passes must not happen here. A softmax without the
    max is right at these scores: it is far off at the large scores test_large_scores draws (in float32)."""
    ratios = []
    for kind, scale in [(kind, 1.0) for kind in KINDS] + [("none", 150.0)]:
        inputs = _rich(kind) if scale == 1.0 else rich_mha_inputs(kind, score_scale=scale)
        q, k, v, mask = inputs.tensors()
        params = inputs.state_dict()
        try:
            if scale == 1.0:
                got = mistakes.run(mistake, q, k, v, params, inputs.num_heads, mask)
            else:  # computed as the submission would, in float32
                q32, k32, v32, _ = inputs.tensors(torch.float32)
                got = [g.double() for g in mistakes.run(mistake, q32, k32, v32, inputs.state_dict(torch.float32),
                                                        inputs.num_heads, mask)]
        except ValueError:
            continue
        exact = ref.multihead_attention(q, k, v, params, inputs.num_heads, mask)
        q32, k32, v32, _ = inputs.tensors(torch.float32)
        same = ref.multihead_attention(q32, k32, v32, inputs.state_dict(torch.float32), inputs.num_heads, mask)
        for g, e, s in zip(got, exact, same):
            allowed = compare.allowed_error(s, e)  # the float32 budget: the loosest one the checks use
            diff = (g - e).abs().nan_to_num(float("inf"))
            ratios.append(float((diff / allowed).max()))
    assert max(ratios) > 100, f"{mistake.id}: at most {max(ratios):.3g}x the tolerance"


@pytest.mark.parametrize("kind", KINDS)
def test_the_disambiguation_inputs_tell_every_mistake_apart(kind):
    inputs = _rich(kind)
    q, k, v, mask = inputs.tensors()
    for mistake in mistakes.MISTAKES:
        try:
            got = mistakes.run(mistake, q, k, v, inputs.state_dict(), inputs.num_heads, mask)
        except ValueError:
            continue
        found = [m.id for m in _matching(got, inputs)]
        if mistake.id in MASK_LAYOUTS and kind != "padded":
            assert set(found) <= MASK_LAYOUTS, (kind, mistake.id, found)
            continue
        assert found in ([], [mistake.id]), (kind, mistake.id, found)


def test_all_zeros_is_never_right():
    inputs = _rich("random")
    q, k, v, mask = inputs.tensors(torch.float32)
    exact = ref.multihead_attention(*inputs.tensors()[:3], inputs.state_dict(), 2, inputs.tensors()[3])
    same = ref.multihead_attention(q, k, v, inputs.state_dict(torch.float32), 2, mask)
    for e, s in zip(exact, same):
        assert compare.mismatch(torch.zeros_like(s), e, compare.allowed_error(s, e), name="x") is not None
