"""Public checks of 03_encoder_decoder, as the student handout ships them (`grade handout`).

AdditiveAttention is compared with the contract's formula written with PyTorch's own
operations (torch.tanh, torch.softmax, F.linear) in float64. The Seq2Seq model has no
PyTorch counterpart: it is compared with recorded input/expected pairs (recorded.pt,
made from the course's model by the instructor's `grade handout`, numbers only), and
checked for what any correct model does (padding never matters).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from grader import kit
from grader.kit.strategies import AdditiveInputs, additive_inputs

RECORDED = Path(__file__).with_name("recorded.pt")
NAMES = ("logits", "weights")


def additive_oracle(inputs: AdditiveInputs, dtype: torch.dtype = torch.float64):
    """The contract's formula: scores = score(tanh(query_proj(q)[:, None] + key_proj(keys))), masked softmax."""
    query, keys, values, mask = inputs.tensors(dtype)
    state = inputs.state_dict(dtype)
    hidden = torch.tanh(F.linear(query, state["query_proj.weight"])[:, None, :]
                        + F.linear(keys, state["key_proj.weight"]))                  # (B, L, hidden)
    scores = F.linear(hidden, state["score.weight"]).squeeze(-1)                      # (B, L)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        weights = torch.where(mask.any(-1, keepdim=True), weights, torch.zeros_like(weights)).nan_to_num(0.0)
    return (weights[..., None] * values).sum(1), weights                               # (B, Dv), (B, L)


@pytest.mark.points(3)
@given(inputs=additive_inputs(dtypes=(torch.float64, torch.float32), masks=("none", "padding", "empty_rows")))
def test_additive_attention_matches_the_formula(student, inputs):
    """AdditiveAttention: context and weights match the README's formula (masks too)"""
    dims = (inputs.query_dim, inputs.key_dim, inputs.hidden_dim)
    module = kit.build(student, "AdditiveAttention", *dims, state=inputs.state_dict(inputs.dtype),
                       dtype=inputs.dtype, layout=f"AdditiveAttention{dims}")
    query, keys, values, mask = inputs.tensors()
    exact, same = additive_oracle(inputs), additive_oracle(inputs, inputs.dtype)
    got = kit.expect_tensors(kit.forward(module, query, keys, values, mask=mask).value, same,
                             names=("context", "weights"), what="AdditiveAttention.forward")
    for value, right, ref, name in zip(got, exact, same, ("context", "weights")):
        kit.assert_close(value, oracle=right, ref=ref, name=name,
                         hint="Mask the scores with -inf before the softmax; a row with no real position is 0.")


def _cases() -> list[dict]:
    return torch.load(RECORDED, weights_only=True)["cases"]


def _model(student, case: dict):
    sizes = tuple(int(n) for n in case["sizes"])
    return kit.build(student, "Seq2Seq", *sizes, state=case["state"], dtype=torch.float64,
                     layout=f"Seq2Seq{sizes}")


@pytest.mark.points(3)
def test_model_matches_recorded_outputs(student):
    """Seq2Seq: logits and attention weights match recorded outputs of a correct model"""
    for case in _cases():
        model = _model(student, case)
        got = kit.expect_tensors(model(case["src"], case["src_mask"], case["tgt_in"]),
                                 (case["logits"], case["weights"]), names=NAMES, what="Seq2Seq.forward")
        for value, right, name in zip(got, (case["logits"], case["weights"]), NAMES):
            kit.assert_close(value, oracle=right, ref=right, name=name,
                             hint="Follow the step in the README on a batch of one and compare the shapes.")


@pytest.mark.points(2)
def test_padding_changes_nothing(student):
    """Seq2Seq: changing only the padding tokens of the source changes no output"""
    for case in _cases():
        model = _model(student, case)
        first = kit.expect_tensors(model(case["src"], case["src_mask"], case["tgt_in"]),
                                   (case["logits"], case["weights"]), names=NAMES, what="Seq2Seq.forward")
        other = kit.expect_tensors(model(case["other_src"], case["src_mask"], case["tgt_in"]),
                                   (case["logits"], case["weights"]), names=NAMES, what="Seq2Seq.forward")
        for a, b, name in zip(first, other, NAMES):
            kit.assert_close(b, oracle=a, ref=a, name=f"{name} with other padding tokens",
                             hint="The encoder's final state comes from the last real token, and the attention "
                                  "masks padding out.")
