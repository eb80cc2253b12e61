"""Checks for 02_multihead. Run by `grade exercises/02_multihead`, never by plain pytest.

Each check gets ``student`` (a proxy to the submission, which runs in a sandbox)
and is worth the points of its ``points`` marker. The reference runs here, in the
grader; the submission's outputs come back as plain tensors.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, Grad, StudentException, compare, diagnose
from grader.kit.strategies import MHAInputs, mha_inputs, padded_mha_inputs, randn, rich_mha_inputs
from attention_reference import multihead as ref
from attention_reference.mistakes import multihead as mistakes

CLASS = "MultiHeadAttention"
NAMES = ("output", "weights")
HINT_VALUES = "Compare your code with the formula in the README, one stage at a time, on a tiny input."


# -- helpers ---------------------------------------------------------------------

def build(student, inputs: MHAInputs, dtype: torch.dtype):
    """The student's module with the bundle's weights loaded, in ``dtype``."""
    return kit.build(student, CLASS, inputs.embed_dim, inputs.num_heads, bias=inputs.bias,
                     state=inputs.state_dict(dtype), dtype=dtype)


def forward(module, query, key, value, mask, **options):
    return kit.forward(module, query, key, value, mask=mask, **options)


def answer(module, inputs: MHAInputs, dtype: torch.dtype):
    """The submission's (output, weights) on ``inputs`` in ``dtype``.

    Where it raises on a mask of shape (B, 1, Lq, Lk) the same for every batch item, on the final
    example the same mask is also given as (Lq, Lk) (the contract accepts both): code whose masking
    works in 2-D only answers then, and that answer is recorded for the diagnosis, so a second mistake
    behind the error is named too. The error still fails the check.
    """
    q, k, v, mask = inputs.tensors(dtype)
    try:
        return forward(module, q, k, v, mask).value
    except kit.StudentException:
        flat = _flat(mask)
        if flat is not None and kit.final_example():
            try:
                got = compare.expect_tuple(forward(module, q, k, v, flat).value, NAMES, what=f"{CLASS}.forward")
            except (kit.StudentError, CheckFailure):
                got = None
            if got is not None and all(isinstance(g, torch.Tensor) for g in got):
                observe(got, inputs, dtype)
        raise


def _flat(mask: torch.Tensor | None) -> torch.Tensor | None:
    """``mask`` as one (Lq, Lk) mask, where it is 4-D and the same for every batch item and head; else None."""
    if mask is None or mask.dim() != 4 or mask.shape[1] != 1 or not bool((mask == mask[:1]).all()):
        return None
    return mask[0, 0]


def oracle(inputs: MHAInputs, dtype: torch.dtype):
    """(float64 oracle, reference in ``dtype``), each an (output, weights) pair."""
    def compute(dtype):
        q, k, v, mask = inputs.tensors(dtype)
        return ref.multihead_attention(q, k, v, inputs.state_dict(dtype), inputs.num_heads, mask)
    return kit.oracle_pair(compute, dtype=dtype, key=("multihead_attention", inputs))


def observe(got, inputs: MHAInputs, dtype: torch.dtype, module=None, held: bool = False) -> None:
    """Record the submission's (output, weights) on ``inputs`` for the diagnosis of the whole submission.

    Each known mistake is computed in ``dtype``, the way a submission would (a softmax without
    max overflows in float16 as the submission's does); ``module`` asks again on a wrong answer (and,
    when the answer changes, with dropout held off); ``held``: ``got`` was answered that way.
    """
    exact, same = oracle(inputs, dtype)
    if not all(isinstance(g, torch.Tensor) and g.shape == e.shape for g, e in zip(got, exact)):
        return
    q, k, v, mask = inputs.tensors(dtype)
    params = inputs.state_dict(dtype)

    def loose():  # what computing in float32 costs: the budget of the float32 reference
        return [compare.allowed_error(s, e) for s, e in zip(oracle(inputs, torch.float32)[1], exact)]

    def again(calm=False):
        return compare.expect_tuple(forward(module, q, k, v, mask, calm=calm).value, NAMES,
                                    what=f"{CLASS}.forward")

    diagnose.observe(got, exact=exact, allowed=[compare.allowed_error(s, e) for s, e in zip(same, exact)],
                     compute=lambda switches: mistakes.compute(q, k, v, params, inputs.num_heads, mask, **switches),
                     bank=mistakes.MISTAKES, loose=loose if dtype == torch.float64 else None,
                     again=None if module is None else again,
                     calm=None if module is None else lambda: again(calm=True), held=held)


def probes(inputs: MHAInputs, dtype: torch.dtype, kind: str | None = None) -> list[MHAInputs]:
    """Richer fixed inputs of the kind of ``inputs`` (or of mask ``kind``), asked about on the final example.

    Small shrunk examples often cannot tell mistakes apart (with one head, a wrong head split
    is invisible; with one batch item, a mask on the wrong item is). Two heads, Lq != Lk and
    the same kind of mask separate them; a padded batch of three lengths shows a mask that
    reaches the wrong batch item.
    """
    kind = kind or inputs.mask_kind
    rich = [rich_mha_inputs(kind, dtype, inputs.score_scale)]
    if kind == "padding":
        rich.append(padded_mha_inputs(dtype))
    return rich


def ask_probes(student, inputs: MHAInputs, dtype: torch.dtype, kinds: tuple[str, ...] = ()) -> None:
    """On the final example, the submission's answers to the richer inputs, recorded too.

    A random submission fails on whatever example comes first, so its example says nothing of the
    check's other inputs: it is asked (with dropout held off) about each mask kind in ``kinds``, the
    check's own, and an error one of them raises is named where it is a known mistake.
    """
    if student is None or not kit.final_example():
        return
    held = diagnose.held_still()  # a random submission: asked with dropout held off, as its example was
    for kind in dict.fromkeys((inputs.mask_kind, *(kinds if held else ()))):
        for rich in probes(inputs, dtype, kind):
            q, k, v, mask = rich.tensors(dtype)
            try:
                module = build(student, rich, dtype)
                got = compare.expect_tuple(forward(module, q, k, v, mask, calm=held).value, NAMES,
                                           what=f"{CLASS}.forward")
            except kit.StudentException as error:
                if held:
                    diagnose.observe_error(error)
                continue
            except (kit.StudentError, CheckFailure):
                continue
            observe(got, rich, dtype, held=held)


def compare_pair(got, inputs: MHAInputs, dtype: torch.dtype, student=None, module=None,
                 kinds: tuple[str, ...] = ()) -> None:
    """Fail with a description unless (output, weights) match the reference; record the answer (``kinds``:
    the mask kinds the check draws, for a random submission's probes)."""
    exact, same = oracle(inputs, dtype)
    got = kit.expect_tensors(got, same, names=NAMES, what=f"{CLASS}.forward")
    mask = inputs.tensors(torch.float64)[3]
    observe(got, inputs, dtype, module)

    def pictures(_):  # heatmaps of one small (Lq, Lk) slice, () when too big
        return kit.figures.attention_heatmaps(got[1], same[1], mask)

    # Weights first: a wrong weight explains a wrong output, not the other way round.
    for index in (1, 0):
        compare.assert_close(got[index], oracle=exact[index], ref=same[index], name=NAMES[index],
                             diagnose=lambda _: ask_probes(student, inputs, dtype, kinds), figures=pictures,
                             hint=HINT_VALUES)


# -- the contract of __init__ ------------------------------------------------------

@pytest.mark.points(2)
def test_constructor(student):
    """Constructor: four projections; ValueError for bad sizes

    Submodules q_proj, k_proj, v_proj, out_proj are Linear(E, E, bias=bias); nothing else has parameters.
    """
    for bias in (True, False):
        module = student.new(CLASS, 12, 3, bias=bias)
        children = module.children
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            child = children.get(name)
            if child is None:
                raise CheckFailure(f"MultiHeadAttention(12, 3) has no submodule named {name!r}.",
                                          details=f"Submodules found: {sorted(children) or 'none'}.",
                                          hint="Name the four projections exactly q_proj, k_proj, v_proj, out_proj.")
            if child.get("type") != "torch.nn.modules.linear.Linear":
                raise CheckFailure(f"{name} should be a torch.nn.Linear, got {child.get('type')}.")
            if (child.get("in_features"), child.get("out_features")) != (12, 12):
                raise CheckFailure(
                    f"{name} should be Linear(12, 12) for embed_dim=12, got "
                    f"Linear({child.get('in_features')}, {child.get('out_features')}).")
            if child.get("bias") is not bias:
                raise CheckFailure(f"{name} should have bias={bias} when bias={bias} is passed.")
        expected = {f"{n}.{p}" for n in ("q_proj", "k_proj", "v_proj", "out_proj")
                    for p in (("weight", "bias") if bias else ("weight",))}
        extra = sorted(set(module.parameters) - expected)
        if extra:
            raise CheckFailure(f"MultiHeadAttention has parameters beyond the four projections: {extra}.")
    try:
        student.new(CLASS, 10, 3)
    except StudentException as error:
        if error.type_name != "ValueError":
            raise CheckFailure(
                f"MultiHeadAttention(10, 3) raised {error.type_name}; it should raise ValueError "
                "(10 is not divisible by 3).") from None
    else:
        raise CheckFailure("MultiHeadAttention(10, 3) did not raise ValueError, "
                                  "but embed_dim=10 is not divisible by num_heads=3.",
                                  hint="Check embed_dim % num_heads in __init__ and raise ValueError.")


# -- values ------------------------------------------------------------------------

@pytest.mark.points(3)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("none",)))
def test_matches_reference_float64(student, inputs):
    """Output and weights match the reference (float64)"""
    module = build(student, inputs, torch.float64)
    compare_pair(answer(module, inputs, torch.float64), inputs, torch.float64, student, module)


@pytest.mark.points(2)
@given(inputs=mha_inputs(dtypes=(torch.float32,), masks=("none",)))
def test_matches_reference_float32(student, inputs):
    """Output and weights match the reference (float32)"""
    module = build(student, inputs, torch.float32)
    compare_pair(answer(module, inputs, torch.float32), inputs, torch.float32, student, module)


@pytest.mark.points(1)
@settings(max_examples=12)
@given(inputs=mha_inputs(dtypes=(torch.float16, torch.bfloat16), masks=("none", "causal", "padding"),
                         cross=False))
def test_half_precision(student, inputs):
    """Half precision (float16, bfloat16): right values, dtype kept"""
    dtype = inputs.dtype
    module = build(student, inputs, dtype)
    # masked_fill(mask, -1e9) raises on a float16 tensor: grader.diagnose names that mistake.
    compare_pair(answer(module, inputs, dtype), inputs, dtype, student, module,
                 kinds=("none", "causal", "padding"))


@pytest.mark.points(2)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("causal",), cross=False))
def test_causal_mask(student, inputs):
    """Causal mask: queries attend only to earlier keys"""
    module = build(student, inputs, torch.float64)
    compare_pair(answer(module, inputs, torch.float64), inputs, torch.float64, student, module)


@pytest.mark.points(2)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("padding", "random")))
def test_padding_mask(student, inputs):
    """Padding and general masks: True means may attend"""
    module = build(student, inputs, torch.float64)
    compare_pair(answer(module, inputs, torch.float64), inputs, torch.float64, student, module,
                 kinds=("padding", "random"))


@pytest.mark.points(2)
@given(inputs=mha_inputs(dtypes=(torch.float64, torch.float32), masks=("fully_masked_rows",)),
       grad_seed=st.integers(0, 1000))
def test_fully_masked_rows(student, inputs, grad_seed):
    """Fully masked rows: zero weights, no NaN, finite gradients

    This check owns the fully masked row: the gradient check draws none, so one mistake there
    costs these points only.
    """
    module = build(student, inputs, inputs.dtype)
    compare_pair(answer(module, inputs, inputs.dtype), inputs, inputs.dtype, student, module)
    if inputs.dtype == torch.float64:
        check_gradients(student, inputs, grad_seed, module=module)


@pytest.mark.points(1)
@settings(max_examples=15)
@given(inputs=st.one_of(mha_inputs(dtypes=(torch.float32,), masks=("none", "causal"), cross=False,
                                   score_scales=(30.0, 60.0)),
                        mha_inputs(dtypes=(torch.float16,), masks=("none",), cross=False,
                                   score_scales=(6.0, 10.0))))
def test_large_scores(student, inputs):
    """Realistic score magnitudes: scores near 100 (float32) and near 20 (float16) stay exact

    Trained models reach such scores; exp overflows float32 at 88 and float16 at 11, so the
    softmax inside attention needs each row's max subtracted too.
    """
    dtype = inputs.dtype
    module = build(student, inputs, dtype)
    compare_pair(answer(module, inputs, dtype), inputs, dtype, student, module, kinds=("none", "causal"))


@pytest.mark.points(1)
def test_deterministic(student):
    """Deterministic: two identical calls give the same output (no dropout, no randomness)

    Fixed inputs with 2 x 2 x 3 x 5 weights: dropout of any rate changes some of them with near
    certainty, so the verdict does not depend on luck.
    """
    for kind in ("none", "padding"):
        inputs = MHAInputs(batch=2, lq=3, lk=5, num_heads=2, head_dim=3, bias=True, mask_kind=kind, seed=5)
        module = build(student, inputs, torch.float64)
        q, k, v, mask = inputs.tensors()
        _, same = oracle(inputs, torch.float64)
        first, second = (kit.expect_tensors(forward(module, q, k, v, mask).value, same, names=NAMES,
                                            what=f"{CLASS}.forward") for _ in range(2))
        kit.steps.expect_same_twice(first, second, NAMES)


@pytest.mark.points(1)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("none", "padding"), max_len=4))
def test_cross_attention_shapes(student, inputs):
    """Cross-attention shapes: (B, Lq, E) and (B, H, Lq, Lk)"""
    module = build(student, inputs, torch.float64)
    q, k, v, mask = inputs.tensors()
    _, same = oracle(inputs, torch.float64)
    kit.expect_tensors(forward(module, q, k, v, mask).value, same, names=NAMES, what=f"{CLASS}.forward")


@pytest.mark.points(1)
def test_inputs_unmodified(student):
    """Inputs are left unmodified"""
    inputs = MHAInputs(batch=2, lq=3, lk=4, num_heads=2, head_dim=3, bias=True, mask_kind="padding", seed=5)
    module = build(student, inputs, torch.float64)
    q, k, v, mask = inputs.tensors()
    reply = forward(module, q, k, v, mask, echo_inputs=True)
    kit.check_unmodified(reply, [("query", 0, q), ("key", 1, k), ("value", 2, v), ("mask", "mask", mask)],
                         fn="forward")


# -- gradients ---------------------------------------------------------------------

@pytest.mark.points(3)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("none", "causal"), max_len=4),
       grad_seed=st.integers(0, 1000))
def test_gradients(student, inputs, grad_seed):
    """Gradients of inputs and parameters match the reference

    Fully masked rows are test_fully_masked_rows' to judge, gradients included.
    """
    check_gradients(student, inputs, grad_seed)


def check_gradients(student, inputs: MHAInputs, grad_seed: int, module=None) -> None:
    """Gradients of query, key, value and every parameter against the reference (float64), once the
    outputs are right (wrong outputs explain wrong gradients: that is said first)."""
    dtype = torch.float64
    module = module or build(student, inputs, dtype)
    q, k, v, mask = inputs.tensors()
    d_out = randn((inputs.batch, inputs.lq, inputs.embed_dim), seed=grad_seed)
    reply = forward(module, q, k, v, mask, grad=Grad(wrt=(0, 1, 2), grad_outputs=(d_out, None), params=True))
    compare_pair(reply.value, inputs, dtype, student, module)
    kit.require_graph(reply)
    expected = kit.remembered(lambda: _reference_grads(inputs, d_out), key=("gradients", inputs, grad_seed))
    kit.check_gradients(reply, expected, inputs=("query", "key", "value"),
                        hint="Wrong gradients with right outputs usually mean a detach() or an "
                             "in-place operation on a tensor autograd needs; with fully masked rows, a "
                             "NaN in a branch of torch.where that is not taken.")


def _reference_grads(inputs: MHAInputs, d_out: torch.Tensor) -> dict[str, torch.Tensor]:
    q, k, v, mask = inputs.tensors(torch.float64)
    q, k, v = (t.detach().clone().requires_grad_(True) for t in (q, k, v))
    params = {n: p.clone().requires_grad_(True) for n, p in inputs.state_dict(torch.float64).items()}
    out, _ = ref.multihead_attention(q, k, v, params, inputs.num_heads, mask)
    kit.backward(out, d_out)
    grads = {"query": q.grad, "key": k.grad, "value": v.grad}
    grads.update({n: p.grad for n, p in params.items()})
    return grads


# -- style -------------------------------------------------------------------------

@pytest.mark.points(0, group="style")
def test_vectorised(student):
    """Vectorised: no Python loop over the batch or heads (advice, no points)

    The operations are counted inside the submission's own process, so the count is the
    submission's word: it can fail this check (a loop is shown), never earn a point.
    """
    counts = {}
    for batch, heads in ((2, 2), (8, 2), (2, 8)):
        inputs = MHAInputs(batch=batch, lq=3, lk=3, num_heads=heads, head_dim=16 // heads,
                           bias=True, mask_kind="none", seed=3)
        module = build(student, inputs, torch.float32)
        q, k, v, _ = inputs.tensors(torch.float32)
        counts[(batch, heads)] = forward(module, q, k, v, None, count_ops=True).aten_ops
    base = counts[(2, 2)]
    # A loop over 8 items instead of 2 runs its body 6 more times: far more than
    # the one or two view ops that other shapes may add.
    grown = {key: n for key, n in counts.items() if n is not None and base is not None and n > base + 2}
    if grown:
        (batch, heads), n = max(grown.items(), key=lambda item: item[1])
        raise CheckFailure(
            f"forward runs {n} tensor operations for batch={batch}, heads={heads} but {base} for "
            "batch=2, heads=2: there is a Python loop over the batch or the heads.",
            hint="Process all batch items and heads at once with batched matmul (@) on (B, H, L, Dh) tensors.",
            kind="style")


# -- properties the value checks cannot see ------------------------------------------

@pytest.mark.points(1)
@given(inputs=mha_inputs(dtypes=(torch.float64,), masks=("causal", "padding"), cross=False, min_heads=1))
def test_masked_keys_cannot_leak(student, inputs):
    """Masked keys cannot leak, however large their values

    Keys and values at masked positions are replaced by huge numbers; the output
    must not change. (A mask applied as "add -1e4" or "fill with -1e9" passes the
    value checks but lets a huge masked score through.)
    """
    module = build(student, inputs, torch.float64)
    q, k, v, mask = inputs.tensors()
    allowed = torch.broadcast_to(mask, (inputs.batch, 1, inputs.lq, inputs.lk))[:, 0]   # (B, Lq, Lk)
    hidden = ~allowed[:, 0, :]                                 # (B, Lk) keys the first query may not see
    rows = ~(allowed & hidden[:, None, :]).any(dim=-1)         # (B, Lq) queries that see none of them
    if not bool(hidden.any()):
        return  # nothing masked to perturb
    before = compare.expect_tuple(forward(module, q, k, v, mask).value, NAMES, what=f"{CLASS}.forward")
    huge_k = torch.where(hidden[..., None], torch.full_like(k, 1e6), k)
    huge_v = torch.where(hidden[..., None], torch.full_like(v, 1e6), v)
    # Right before the change, or "unchanged" proves nothing: a constant output cannot leak either.
    compare_pair(before, inputs, torch.float64, student, module)
    _, same = oracle(inputs, torch.float64)
    after = kit.expect_tensors(forward(module, q, huge_k, huge_v, mask).value, same, names=NAMES,
                               what=f"{CLASS}.forward")
    for b, a, s_, name in zip(before, after, same, NAMES):
        keep = rows if name == "output" else rows[:, None, :].expand(-1, inputs.num_heads, -1)
        compare.assert_close(a[keep], oracle=b[keep], ref=s_[keep], name=f"{name} after changing masked keys",
                             hint="Give masked scores -inf (or zero their weights exactly) so that no value of "
                                  "a masked key can reach the output.")
