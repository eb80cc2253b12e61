"""Input bundles build their tensors once per process (grader.kit.memo): what a check gets is what a new
build gives, and nothing a check does to its copy reaches another's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.kit import memo, strategies

BUNDLES = st.one_of(
    strategies.mha_inputs(dtypes=(torch.float64, torch.float16), masks=strategies.MASK_KINDS),
    strategies.softmax_inputs(values=strategies.SOFTMAX_VALUES, masks=strategies.SOFTMAX_MASKS,
                              dtypes=(torch.float32,), huge_masked=True),
    strategies.attention_inputs(scores=strategies.SCORE_KINDS, dtypes=("float64", "float16", "int64")),
    strategies.attention_inputs(simple=True),
    strategies.additive_inputs(masks=strategies.ADDITIVE_MASKS),
    strategies.seq2seq_inputs(),
)


def calls(bundle) -> list[tuple[str, tuple]]:
    """Every (method, arguments) a check asks a bundle for."""
    if isinstance(bundle, strategies.AttentionInputs):
        return [("arrays", ()), ("arrays", ("float32",))]
    if isinstance(bundle, strategies.Seq2SeqInputs):
        return [("tensors", ()), ("tensors", ("other",))]
    found = [("tensors", ()), ("tensors", (torch.float32,))]
    if hasattr(bundle, "state_dict"):
        found += [("state_dict", ()), ("state_dict", (torch.float32,))]
    return found


def built(bundle, method: str, args: tuple):
    """What the bundle's method builds without the memory (the function under ``kept``)."""
    return getattr(type(bundle), method).__wrapped__(bundle, *args)


def assert_identical(expected, got) -> None:
    """The same values bit for bit, dtypes, shapes, strides and devices; never the same objects."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, torch.Tensor) and got is not expected
        assert (got.dtype, got.shape, got.stride(), got.device, got.requires_grad) == \
            (expected.dtype, expected.shape, expected.stride(), expected.device, expected.requires_grad)
        assert got.untyped_storage().data_ptr() != expected.untyped_storage().data_ptr() or not got.numel()
        as_bytes = (lambda t: t.contiguous().view(torch.uint8)) if expected.dtype != torch.bool else (lambda t: t)
        assert torch.equal(as_bytes(got), as_bytes(expected))
    elif isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got is not expected and not np.shares_memory(got, expected)
        assert (got.dtype, got.shape, got.strides) == (expected.dtype, expected.shape, expected.strides)
        assert got.tobytes() == expected.tobytes()
    elif isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for e, g in zip(expected, got):
            assert_identical(e, g)
        # what was one tensor is still one (self-attention's key = value = query), and only that
        assert [[a is b for b in got] for a in got] == [[a is b for b in expected] for a in expected]
    elif isinstance(expected, dict):
        assert list(got) == list(expected)
        for k in expected:
            assert_identical(expected[k], got[k])
    else:
        assert got == expected


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bundle=BUNDLES)
def test_a_remembered_bundle_gives_what_a_new_build_gives(bundle):
    for method, args in calls(bundle):
        expected = built(bundle, method, args)
        for _ in range(2):   # the first call builds and remembers, the second is remembered
            assert_identical(expected, getattr(bundle, method)(*args))


def test_self_attention_stays_one_tensor():
    inputs = strategies.MHAInputs(batch=2, lq=3, lk=3, num_heads=1, head_dim=2, bias=False, mask_kind="causal",
                                  seed=4)
    for _ in range(2):
        q, k, v, _ = inputs.tensors()
        assert q is k is v


@pytest.mark.parametrize("defence", [True, False])
def test_a_check_that_changes_its_inputs_changes_its_copy_only(defence, monkeypatch):
    """The attack: a check changes what it got in place (and asks for gradients); the next check to ask
    must get what a new build gives. Handing out the remembered tensors themselves, it does not."""
    memo.forget()
    if not defence:
        monkeypatch.setattr(memo, "fresh", lambda value, memo=None: value)
    inputs = strategies.MHAInputs(batch=2, lq=3, lk=4, num_heads=2, head_dim=3, bias=True, mask_kind="padding",
                                  seed=8)
    clean_tensors, clean_state = built(inputs, "tensors", ()), built(inputs, "state_dict", ())
    q, k, v, mask = inputs.tensors()
    q.mul_(0.0), mask.fill_(False), k.requires_grad_(True)
    inputs.state_dict()["q_proj.weight"].add_(1.0)
    again, state = inputs.tensors(), inputs.state_dict()
    intact = all(torch.equal(a, b) and not a.requires_grad for a, b in zip(again, clean_tensors)) \
        and all(torch.equal(state[n], clean_state[n]) for n in clean_state)
    assert intact is defence


def test_each_device_and_each_exact_argument_is_its_own_entry():
    memo.forget()
    cpu = strategies.randn((2, 3), seed=1)
    with strategies.on_device("meta"):
        meta = strategies.randn((2, 3), seed=1)
    assert cpu.device.type == "cpu" and meta.device.type == "meta"
    # 0.0 and -0.0 are equal numbers but not the same input: each gets what it builds
    plus = strategies.randn((3,), seed=2, scale=0.0)
    minus = strategies.randn((3,), seed=2, scale=-0.0)
    assert torch.equal(plus.view(torch.uint8), built_randn((3,), seed=2, scale=0.0).view(torch.uint8))
    assert torch.equal(minus.view(torch.uint8), built_randn((3,), seed=2, scale=-0.0).view(torch.uint8))
    assert not torch.equal(plus.view(torch.uint8), minus.view(torch.uint8))


def built_randn(shape, **kwargs):
    return strategies.randn.__wrapped__(shape, **kwargs)


def test_arguments_without_an_exact_key_are_built_afresh():
    memo.forget()
    before = memo.stats()["entries"]
    strategies.randn([2, 2], seed=3)   # a list: built, not remembered
    assert memo.stats()["entries"] == before


def test_the_memory_is_bounded_by_bytes(monkeypatch):
    memo.forget()
    monkeypatch.setattr(memo, "INPUTS_BYTES", 64 << 10)
    for seed in range(200):
        strategies.randn((16, 16), seed=seed)   # 2 KiB each
    assert 0 < memo.stats()["bytes"] <= 64 << 10
    assert memo.stats()["entries"] < 200
    memo.forget()
