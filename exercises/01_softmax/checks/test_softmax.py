"""Checks for 01_softmax. Run by `grade exercises/01_softmax`, never by plain pytest.

Each check gets ``student`` (a proxy to the submission, which runs in a sandbox)
and is worth the points of its ``points`` marker. The reference runs here, in the
grader: a float64 oracle sets the right answer and the reference in the input's
dtype sets the error budget (``grader.compare``).

The value checks compare with the reference on ordinary inputs; each property check
looks at inputs where a mathematically right formula still goes wrong (huge values,
``-inf``, empty slices, low precision, gradients, in-place changes). Which mistake
each property catches that the plain comparison misses is shown by the corpus in
``tests/corpus/01_softmax/buggy``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, Grad, compare, diagnose
from grader.kit.strategies import SoftmaxInputs, generator, randn, softmax_inputs
from attention_reference import softmax as ref
from attention_reference.mistakes import softmax as mistakes

LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)
HINT_VALUES = "Work through the formula in the README on a tiny input: a (2, 3) tensor with dim=0 and dim=1."
HINT_STABLE = ("Subtract each slice's max along dim (x.amax(dim=dim, keepdim=True)) before exp, so the "
               "largest exponent is exp(0) = 1.")
HINT_EMPTY = ("A slice with nothing to attend to has max -inf and -inf - (-inf) = NaN: replace a non-finite "
              "max by 0, and divide by the sum only where it is > 0.")
HINT_INPLACE = ("Use out-of-place operations (x = x - m, not x -= m; masked_fill, not masked_fill_) on the "
                "tensors you were given.")
MSG_NOT_ZERO = "{what} get weight {value:.3g} at index {index}; they must get exactly 0."
MSG_NOT_INVARIANT = ("{fn}(x + c) differs from {fn}(x) for a constant c along dim (|c| up to 1e4): "
                     "softmax does not change when every entry of a slice moves by the same amount.")
MSG_NEGATIVE = "{fn}'s output has a negative weight {value:.3g} at index {index}."
ADVICE_ALL_NEG_INF = ("A slice whose entries are all -inf does not come out as zeros in your softmax (torch.softmax "
                      "gives NaN there too). The contract leaves that case open for softmax, so it costs no "
                      "points; masked_softmax must give zeros for a fully masked slice, and reusing a softmax "
                      "that already does makes that easy: replace a non-finite max by 0 and divide only where "
                      "the sum is > 0.")


# -- helpers ---------------------------------------------------------------------

def reference(x: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    return ref.softmax(x, dim) if mask is None else ref.masked_softmax(x, mask, dim)


def function_of(mask) -> str:
    return "softmax" if mask is None else "masked_softmax"


def call(student, x, mask, dim, *, probe: SoftmaxInputs | None = None, **options):
    """The submission's softmax(x, dim) or masked_softmax(x, mask, dim), as a Reply.

    With ``probe`` (the check's input bundle), an error on the final example first has the richer
    inputs of its kind asked about (``ask_probes``): an error that only some shapes raise (a fixed
    dim=1 on 1-D input) does not hide a mistake the other shapes show. The error still fails the check.
    """
    try:
        if mask is None:
            return student.run("softmax", x, dim, **options)
        return student.run("masked_softmax", x, mask, dim, **options)
    except kit.StudentException:
        ask_probes(student, probe)
        raise


def oracle(x: torch.Tensor, mask, dim: int):
    """(float64 oracle, reference in x's dtype)."""
    return kit.oracle_pair(lambda dtype: reference(x.to(dtype), mask, dim), dtype=x.dtype)


def observe(got, x, mask, dim, *, student=None, blank=None) -> None:
    """Record the submission's answer ``got`` on (x, mask, dim) for the diagnosis of the whole submission.

    Each known mistake's answer is computed in x's dtype (overflow included). ``blank``: slices
    the contract leaves open (all -inf in plain softmax), set to 0 in every answer compared.
    """
    exact, same = oracle(x, mask, dim)
    if not isinstance(got, torch.Tensor) or got.shape != exact.shape:
        return

    def cut(value):
        return value if blank is None else value.masked_fill(blank, 0.0)

    def loose():  # what computing in float32 costs: the budget of the float32 reference
        return (compare.allowed_error(cut(reference(x.float(), mask, dim)), cut(exact)),)

    diagnose.observe((cut(got),), exact=(cut(exact),), allowed=(compare.allowed_error(cut(same), cut(exact)),),
                     compute=lambda switches: (cut(mistakes.compute(x, mask, dim, **switches)),),
                     bank=mistakes.SOFTMAX if mask is None else mistakes.MASKED,
                     loose=loose if x.dtype == torch.float64 else None,
                     again=None if student is None else lambda: (cut(call(student, x, mask, dim).value),))


def probes(inputs: SoftmaxInputs) -> list[SoftmaxInputs]:
    """Richer fixed inputs of the kind of ``inputs``, asked about on the final example.

    Shrunk examples are tiny (a slice of two entries), where many mistakes agree. Fixed
    (3, 4, 5) inputs of the same kind, then without masked extremes, then with values up to
    1e4, separate them.
    """
    kinds = dict.fromkeys(((inputs.values, inputs.huge_masked, inputs.neg_inf_masked),
                           (inputs.values, False, False), ("large", False, False)))
    return [SoftmaxInputs(shape=(3, 4, 5), dim=1, values=values, mask_kind=inputs.mask_kind, seed=11,
                          dtype=inputs.dtype, huge_masked=huge, neg_inf_masked=neg_inf)
            for values, huge, neg_inf in kinds]


def ask_probes(student, inputs: SoftmaxInputs | None) -> None:
    """On the final example, the submission's answers to the richer inputs, recorded too."""
    if student is None or inputs is None or not kit.final_example():
        return
    for rich in probes(inputs):
        x, mask = rich.tensors()
        try:
            got = call(student, x, mask, rich.dim).value
        except kit.StudentError:
            continue
        observe(got, x, mask, rich.dim, blank=open_slices(x, mask, rich.dim))


def diagnosis_of(got, x, mask, dim, student=None, inputs: SoftmaxInputs | None = None) -> None:
    """Record a wrong answer (and, on the final example, the answers to richer inputs). The name
    comes from the diagnosis of the whole submission, after the last check."""
    observe(got, x, mask, dim, student=student, blank=open_slices(x, mask, dim))
    ask_probes(student, inputs)


def open_slices(x, mask, dim) -> torch.Tensor | None:
    """For plain softmax, the slices of all -inf (the contract leaves them open); None if there are none."""
    if mask is not None:
        return None
    empty = empty_slices(x, None, dim)
    return empty if bool(empty.any()) else None


def check_values(got, x, mask, dim, *, hint: str = HINT_VALUES, student=None,
                 inputs: SoftmaxInputs | None = None) -> torch.Tensor:
    """Fail with a description unless ``got`` is the softmax of x (within budget); record the answer.

    For plain softmax, a slice of all -inf is left out of the comparison (the contract leaves it
    open) and advised on when it is not zeros.
    """
    fn = function_of(mask)
    exact, same = oracle(x, mask, dim)
    got = compare.expect_tensor(got, name=f"{fn}'s output", like=same)
    blank = open_slices(x, mask, dim)
    observe(got, x, mask, dim, student=student, blank=blank)
    if blank is not None:
        if student is not None and not bool((got.detach()[blank] == 0).all()):
            student.show(advice=ADVICE_ALL_NEG_INF)
        got, exact, same = (t.masked_fill(blank, 0.0) for t in (got, exact, same))
    compare.assert_close(got, oracle=exact, ref=same, name=f"{fn}'s output",
                         diagnose=lambda _: ask_probes(student, inputs), hint=hint)
    return got


def check_exact_zeros(got: torch.Tensor, where: torch.Tensor, what: str, hint: str, diagnosis=None) -> None:
    values = got.detach().to(torch.float64)
    wrong = torch.broadcast_to(where, values.shape) & (values != 0)
    if bool(wrong.any()):
        index = tuple(int(i) for i in torch.nonzero(wrong)[0])
        raise CheckFailure(MSG_NOT_ZERO.format(what=what, value=float(values[index]), index=index),
                                  diagnosis=diagnosis, hint=hint)


def empty_slices(x: torch.Tensor, mask, dim: int) -> torch.Tensor:
    """Slices along dim with nothing to attend to (all masked or all -inf), broadcast to x's shape."""
    keep = x != float("-inf")
    if mask is not None:
        keep = keep & torch.broadcast_to(mask, x.shape)
    return torch.broadcast_to(~keep.any(dim=dim, keepdim=True), x.shape)


def check_gradients(student, inputs: SoftmaxInputs, grad_seed: int, *, dtype: torch.dtype | None = None) -> None:
    """The gradient of x (in ``dtype``, default the bundle's) equals the reference's, once the values are
    right (a wrong output explains a wrong gradient: that is said first). Slices the contract leaves
    open (all -inf in plain softmax) are left out."""
    x, mask = inputs.tensors(dtype)
    d_out = randn(x.shape, seed=grad_seed, dtype=x.dtype)
    reply = call(student, x, mask, inputs.dim, probe=inputs, grad=Grad(wrt=(0,), grad_outputs=(d_out,)))
    check_values(reply.value, x, mask, inputs.dim, student=student, inputs=inputs)
    kit.require_graph(reply, hint="Use torch operations on x all the way; do not call .detach(), "
                                  ".numpy(), torch.tensor(...) or torch.no_grad() on the way.")
    leaf = x.detach().clone().requires_grad_(True)
    kit.backward(reference(leaf, mask, inputs.dim), d_out)
    got = reply.input_grads.get(0)
    if got is None:
        raise CheckFailure("No gradient of x: x is not used in a differentiable way.")
    compare.expect_tensor(got, name="the gradient of x", like=leaf.grad)
    expected = leaf.grad
    blank = open_slices(x, mask, inputs.dim)
    if blank is not None:
        got, expected = got.masked_fill(blank, 0.0), expected.masked_fill(blank, 0.0)
    compare.assert_close(got, oracle=expected, ref=expected, name="the gradient of x", budget="grad",
                         hint=HINT_EMPTY + " Keep infinities out of every branch of torch.where: "
                              "0 * inf in a backward pass is NaN even in the branch that is not picked.")


def check_unmodified(student, x, mask, dim) -> None:
    reply = call(student, x, mask, dim, echo_inputs=True)
    kit.check_unmodified(reply, [("x", 0, x), ("mask", 1, mask)], fn=function_of(mask), hint=HINT_INPLACE)


# -- softmax: values -----------------------------------------------------------------

@pytest.mark.points(3)
@given(inputs=softmax_inputs())
def test_softmax_matches_reference(student, inputs):
    """softmax matches the reference (float64, any rank and dim)"""
    x, _ = inputs.tensors()
    check_values(call(student, x, None, inputs.dim, probe=inputs).value, x, None, inputs.dim,
                 student=student, inputs=inputs)


@pytest.mark.points(2)
@given(inputs=softmax_inputs(dtypes=LOW_PRECISION))
def test_softmax_dtypes(student, inputs):
    """softmax keeps float16, bfloat16 and float32, and is accurate in each

    The output has x's dtype and device; its error is at most a small multiple of the
    reference's own error in that dtype.
    """
    x, _ = inputs.tensors()
    check_values(call(student, x, None, inputs.dim, probe=inputs).value, x, None, inputs.dim,
                 student=student, inputs=inputs,
                 hint="Compute in x's dtype (no .double() or .float() without converting back).")


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=(torch.float16, torch.bfloat16, torch.float32, torch.float64),
                             values=("moderate",)))
def test_softmax_sums_to_one(student, inputs):
    """softmax sums to 1 along dim, in every dtype, for values up to about 50

    exp(12) already overflows float16, so this needs the max subtracted even there.
    """
    x, _ = inputs.tensors()
    dim = inputs.dim
    exact, same = oracle(x, None, dim)
    got = compare.expect_tensor(call(student, x, None, dim, probe=inputs).value, name="softmax's output", like=same)
    values = got.detach().to(torch.float64)
    if bool((values < 0).any()):
        index = tuple(int(i) for i in torch.nonzero(values < 0)[0])
        raise CheckFailure(MSG_NEGATIVE.format(fn="softmax", value=float(values[index]), index=index))
    compare.assert_close(values.sum(dim), oracle=exact.sum(dim), ref=same.sum(dim),
                         name="the sums of softmax along dim",
                         diagnose=lambda _: diagnosis_of(got, x, None, dim, student, inputs), hint=HINT_STABLE)


@pytest.mark.points(1)
@given(inputs=softmax_inputs())
def test_softmax_shift_invariant(student, inputs):
    """softmax(x + c) equals softmax(x) for a constant c along dim, |c| up to 1e4

    A property: two answers of the submission are compared with each other, not with
    the reference.
    """
    x, _ = inputs.tensors()
    dim = inputs.dim
    slice_shape = tuple(1 if i == dim % x.dim() else n for i, n in enumerate(x.shape))
    c = torch.round((torch.rand(slice_shape, generator=generator(inputs.seed + 1), dtype=torch.float64)
                     * 2 - 1) * 1e4).to(x.device)                      # (..., 1, ...) whole numbers
    shifted = x + c
    _, same = oracle(x, None, dim)
    plain = compare.expect_tensor(call(student, x, None, dim, probe=inputs).value, name="softmax(x)", like=same)
    moved = compare.expect_tensor(call(student, shifted, None, dim).value, name="softmax(x + c)", like=same)
    for value, given_x, label in ((plain, x, "softmax(x)"), (moved, shifted, "softmax(x + c)")):
        bad = ~torch.isfinite(value)
        if bool(bad.any()):
            index = tuple(int(i) for i in torch.nonzero(bad)[0])
            raise CheckFailure(f"{label} contains NaN or inf at index {index}.",
                                      diagnosis=diagnosis_of(value, given_x, None, dim, student, inputs),
                                      hint=HINT_STABLE)
    allowed = compare.allowed_error(*reversed(oracle(x, None, dim))) \
        + compare.allowed_error(*reversed(oracle(shifted, None, dim)))
    m = compare.mismatch(moved, plain, allowed, name="softmax(x + c)")
    if m is not None:
        raise CheckFailure(MSG_NOT_INVARIANT.format(fn="softmax"),
                                  diagnosis=diagnosis_of(moved, shifted, None, dim, student, inputs), mismatch=m,
                                  hint=HINT_STABLE)


@pytest.mark.points(2)
@given(inputs=softmax_inputs(dtypes=(torch.float32, torch.float64), values=("large",)))
def test_softmax_large_values(student, inputs):
    """softmax is exact for slices whose values differ by up to 1e4 (float32, float64)

    Each slice has its own offset (up to 7e3) and spread (up to 3e3): one global max,
    or none at all, underflows or overflows.
    """
    x, _ = inputs.tensors()
    check_values(call(student, x, None, inputs.dim, probe=inputs).value, x, None, inputs.dim,
                 student=student, inputs=inputs, hint=HINT_STABLE)


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=(torch.float32, torch.float64), values=("neg_inf",)))
def test_softmax_neg_inf(student, inputs):
    """-inf entries get weight exactly 0

    A slice of all -inf is left open by the contract (torch.softmax gives NaN): whatever your
    softmax gives there costs nothing, and the report advises on it.
    """
    x, _ = inputs.tensors()
    got = check_values(call(student, x, None, inputs.dim, probe=inputs).value, x, None, inputs.dim,
                       student=student, inputs=inputs, hint=HINT_EMPTY)
    check_exact_zeros(got, x == float("-inf"), "-inf entries", HINT_EMPTY)


# -- softmax: gradients and inputs ----------------------------------------------------

@pytest.mark.points(2)
@settings(max_examples=15)
@given(inputs=softmax_inputs(values=("normal", "neg_inf")), grad_seed=st.integers(0, 1000))
def test_softmax_gradients(student, inputs, grad_seed):
    """softmax's gradient equals the true softmax's (float64, with -inf entries)

    Not on a slice of all -inf, which the contract leaves open.
    """
    check_gradients(student, inputs, grad_seed)


@pytest.mark.points(1)
def test_softmax_inputs_unmodified(student):
    """softmax leaves x unmodified"""
    inputs = SoftmaxInputs(shape=(2, 3, 4), dim=1, values="neg_inf", mask_kind="none", seed=5)
    x, _ = inputs.tensors()
    check_unmodified(student, x, None, inputs.dim)


# -- masked_softmax ------------------------------------------------------------------

@pytest.mark.points(3)
@given(inputs=softmax_inputs(masks=("full", "broadcast")))
def test_masked_softmax_matches_reference(student, inputs):
    """masked_softmax matches the reference (float64, broadcast masks)"""
    x, mask = inputs.tensors()
    check_values(call(student, x, mask, inputs.dim, probe=inputs).value, x, mask, inputs.dim,
                 student=student, inputs=inputs)


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=LOW_PRECISION, masks=("full", "broadcast")))
def test_masked_softmax_dtypes(student, inputs):
    """masked_softmax keeps float16, bfloat16 and float32, and is accurate in each"""
    x, mask = inputs.tensors()
    check_values(call(student, x, mask, inputs.dim, probe=inputs).value, x, mask, inputs.dim,
                 student=student, inputs=inputs,
                 hint="Compute in x's dtype; a fill value such as -1e9 does not fit in float16: use "
                      "float('-inf') or torch.finfo(x.dtype).min.")


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=(torch.float32, torch.float64), masks=("full", "broadcast"),
                             huge_masked=True))
def test_masked_entries_exactly_zero(student, inputs):
    """Masked entries get exactly 0, however large their values

    Masked positions hold 2e4: a mask applied by adding -1e4, or by zeroing weights
    after the softmax and renormalising, lets them through or underflows the rest.
    """
    x, mask = inputs.tensors()
    dim = inputs.dim
    hint = "Put masked entries to -inf (masked_fill(~mask, float('-inf'))) before exp."
    got = check_values(call(student, x, mask, dim, probe=inputs).value, x, mask, dim, hint=hint,
                       student=student, inputs=inputs)
    check_exact_zeros(got, ~torch.broadcast_to(mask, x.shape), "Masked entries", hint,
                      diagnosis=diagnosis_of(got, x, mask, dim, student, inputs))


@pytest.mark.points(2)
@given(inputs=softmax_inputs(dtypes=(torch.float32, torch.float64), masks=("fully_masked",)),
       grad_seed=st.integers(0, 1000))
def test_fully_masked_slices(student, inputs, grad_seed):
    """A fully masked slice is all zeros (no NaN, not uniform), with finite, right gradients

    This check owns the fully masked slice: the other masked checks draw none, so one mistake
    there costs these points only.
    """
    x, mask = inputs.tensors()
    dim = inputs.dim
    got = check_values(call(student, x, mask, dim, probe=inputs).value, x, mask, dim, hint=HINT_EMPTY,
                       student=student, inputs=inputs)
    check_exact_zeros(got, empty_slices(x, mask, dim), "Fully masked slices", HINT_EMPTY)
    check_gradients(student, inputs, grad_seed, dtype=torch.float64)


@pytest.mark.points(1)
@given(inputs=softmax_inputs(dtypes=(torch.float32, torch.float64), values=("far", "normal"),
                             masks=("full", "broadcast"), neg_inf_masked=True))
def test_masked_softmax_extreme_values(student, inputs):
    """masked_softmax with -inf at masked entries and real entries far below 0 (x ~ -1000)

    -inf * 0 is NaN, and exp(-1000) underflows even in float64: only a max taken over the
    entries that take part keeps the real entries' weights.
    """
    x, mask = inputs.tensors()
    check_values(call(student, x, mask, inputs.dim, probe=inputs).value, x, mask, inputs.dim, student=student,
                 inputs=inputs, hint="Take the max over the entries that take part (masked ones set to -inf "
                                     "first), and never multiply x itself by the mask.")


@pytest.mark.points(2)
@settings(max_examples=15)
@given(inputs=softmax_inputs(masks=("full", "broadcast")), grad_seed=st.integers(0, 1000))
def test_masked_softmax_gradients(student, inputs, grad_seed):
    """masked_softmax's gradient is right (float64)

    Fully masked slices are test_fully_masked_slices' to judge, gradients included.
    """
    check_gradients(student, inputs, grad_seed)


@pytest.mark.points(1)
def test_masked_softmax_inputs_unmodified(student):
    """masked_softmax leaves x and mask unmodified"""
    inputs = SoftmaxInputs(shape=(2, 3, 4), dim=-1, values="normal", mask_kind="fully_masked", seed=5)
    x, mask = inputs.tensors()
    check_unmodified(student, x, mask, inputs.dim)
