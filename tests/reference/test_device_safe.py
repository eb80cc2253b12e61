"""The references and the known-mistakes banks make no tensor on the CPU behind the inputs' back.

On CUDA the grader runs them on the GPU inputs a check builds; a tensor made without
``device=`` inside them would break every check there. The meta device (shapes without values)
refuses a CPU tensor next to its own just as CUDA does, so this runs everywhere. A 0-dim CPU
tensor is a scalar to PyTorch on every device, and is allowed.
"""

from __future__ import annotations

import pytest
import torch

from grader.kit import strategies
from attention_reference import encoder_decoder, multihead, softmax
from attention_reference.mistakes import additive as additive_mistakes
from attention_reference.mistakes import multihead as multihead_mistakes
from attention_reference.mistakes import softmax as softmax_mistakes

META = "meta"


def _on_meta(bundle):
    with strategies.on_device(META):
        return bundle.tensors(), bundle.state_dict()


def test_a_cpu_tensor_next_to_a_meta_one_is_refused_as_on_cuda():
    x = torch.zeros(2, 3, device=META)
    with pytest.raises(RuntimeError):
        torch.where(x > 0, x, torch.zeros(2, 3))   # what a mask made without device= does on the GPU


@pytest.mark.parametrize("masked", [False, True])
def test_softmax_reference_and_every_mistake_stay_on_the_inputs_device(masked):
    with strategies.on_device(META):
        x, mask = strategies.SoftmaxInputs(shape=(3, 4, 5), dim=1, values="neg_inf", mask_kind="full" if masked
                                           else "none", seed=3).tensors()
    assert x.device.type == META
    got = softmax.masked_softmax(x, mask, 1) if masked else softmax.softmax(x, 1)
    assert got.device.type == META
    for mistake in softmax_mistakes.MASKED if masked else softmax_mistakes.SOFTMAX:
        out = softmax_mistakes.compute(x, mask if masked else None, 1, **mistake.switches)
        assert out.device.type == META, mistake.id


def test_multihead_reference_and_every_mistake_stay_on_the_inputs_device():
    bundle = strategies.MHAInputs(batch=2, lq=4, lk=4, num_heads=2, head_dim=3, bias=True, mask_kind="padding",
                                  seed=1)
    (q, k, v, mask), state = _on_meta(bundle)
    out, weights = multihead.multihead_attention(q, k, v, state, bundle.num_heads, mask)
    assert out.device.type == weights.device.type == META
    for mistake in multihead_mistakes.MISTAKES:
        got = multihead_mistakes.run(mistake, q, k, v, state, bundle.num_heads, mask)
        assert all(t.device.type == META for t in (got if isinstance(got, tuple) else (got,))), mistake.id


def test_additive_reference_and_every_mistake_stay_on_the_inputs_device():
    bundle = strategies.AdditiveInputs(batch=2, length=4, query_dim=3, key_dim=4, value_dim=2, hidden_dim=5,
                                       mask_kind="padding", seed=2)
    (query, keys, values, mask), state = _on_meta(bundle)
    module = encoder_decoder.AdditiveAttention(3, 4, 5).to(META)
    context, weights = module(query, keys, values, mask)
    assert context.device.type == META
    for mistake in additive_mistakes.MISTAKES:
        got = additive_mistakes.run(mistake, query, keys, values, state, mask)
        assert all(t.device.type == META for t in (got if isinstance(got, tuple) else (got,))), mistake.id
