"""Checks for 00_simple_attention (NumPy). Run by `grade exercises/00_simple_attention`, never by plain pytest.

Each check gets ``student`` (a proxy to the submission, which runs in a sandbox)
and is worth the points of its ``points`` marker. The reference runs here, in the
grader: a float64 oracle sets the right answer and the reference in the inputs'
dtype sets the error budget (``grader.compare``). Importing torch or calling
scipy.special.softmax is found by the grader from exercise.toml's banned list.

The value checks compare with the reference on ordinary inputs (d_k >= 2 and drawn
independently of the other sizes, so no scale, 1/d and 1/sqrt(d) all differ); the
property checks look where a mathematically right formula still goes wrong (large
scores, low precision, batches, in-place changes). Which mistake each property
catches that the plain comparison misses is shown by the corpus in
``tests/corpus/00_simple_attention/buggy``.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, StudentError, StudentException, compare, diagnose
from grader.kit.strategies import AttentionInputs, attention_inputs
from attention_reference import simple_attention as ref
from attention_reference.mistakes import simple_attention as mistakes

SDPA = "scaled_dot_product_attention"
NAMES = ("output", "weights")
HINT_VALUES = "Work through the formula in the README on the worked example, printing each stage's shape."
HINT_STABLE = "Subtract each row's largest score before np.exp: exp(s - s.max(axis=-1, keepdims=True))."
HINT_DTYPE = ("Keep a floating input's dtype: divide by math.sqrt(d) (a Python float), not np.sqrt(d) "
              "(a float64 scalar); convert integer input with astype(np.float64).")
MSG_PROMOTED = ("Your {dtype} input comes out float64: a float64 NumPy value in the computation promotes the "
                "arrays to float64 (NumPy keeps the wider type): np.sqrt(d) is a float64 scalar, and so are "
                "np.float64(...) and arrays made with NumPy's default dtype.")
MSG_NEGATIVE = "{what} has a negative weight {value:.3g} at index {index}."
HALF_SLACK = 4.0  # NumPy computes float16 in float16 (no wider accumulator): a correct log-sum-exp is ~2.5x off
MSG_NOT_FINITE = "{what} contains NaN or inf at index {index}."
MSG_BATCH = ("The result for batch item {index} differs from {fn} called on that item alone: batch items "
             "must not affect each other.")
MSG_BATCH_RAISES = "{fn} fails on a batch of {shape} queries ({error})."


# -- helpers ---------------------------------------------------------------------

def as64(*arrays):
    return tuple(np.asarray(a).astype(np.float64) for a in arrays)


def expect_array(value, *, name: str, like: np.ndarray) -> np.ndarray:
    """``value`` as an array of ``like``'s shape and dtype; a float32 or float16 input that came out
    float64 is named (a float64 scalar such as np.sqrt(d) promotes it)."""
    try:
        return compare.expect_array(value, name=name, like=like)
    except CheckFailure as failure:
        promoted = isinstance(value, np.ndarray) and value.dtype == np.float64 and like.dtype in (np.float32,
                                                                                                 np.float16)
        if not promoted or failure.diagnosis:
            raise
        raise CheckFailure(failure.summary, diagnosis=MSG_PROMOTED.format(dtype=like.dtype),
                           hint=HINT_DTYPE) from None


def _budget(same, exact, got):
    """The check's tolerance; a single number when ``got`` has the wrong shape (to match mistakes)."""
    allowed = compare.allowed_error(same, exact)
    return allowed if np.shape(got) == np.shape(same) else allowed.max()


def _loose(fn, q, k, v, exact, got):
    """What computing in float32 costs, for a float64 input: the budget of the float32 reference (else None)."""
    if np.result_type(q, k, v) != np.float64:
        return None
    return lambda: tuple(_budget(s, e, g) for s, e, g in zip(fn(*(np.asarray(a).astype(np.float32)
                                                                 for a in (q, k, v))), exact, got))


SIMPLE_PROBE = AttentionInputs(batch=(), lq=1, lk=4, d=3, dv=2, scores="normal", seed=11, simple=True)
RICH = AttentionInputs(batch=(3,), lq=2, lk=3, d=3, dv=2, scores="normal", seed=11)  # batch = Lk = d
FLAT = AttentionInputs(batch=(), lq=3, lk=4, d=4, dv=2, scores="normal", seed=12)    # no batch: key.T works


def probe_like(probe: AttentionInputs, q) -> AttentionInputs:
    """``probe`` in the dtype (and, for large scores, the magnitude) of the failing input ``q``."""
    scale = float(np.abs(np.asarray(q, dtype=np.float64)).max(initial=0.0))
    scores = "large" if scale > 1e3 else ("moderate" if scale > 10 else probe.scores)
    return dataclasses.replace(probe, dtype=str(np.asarray(q).dtype), scores=scores)


def simple_diagnosis(got, q, k, v, student=None) -> None:
    """Record simple_attention's answer ``got`` for the diagnosis of the whole submission; on a wrong final
    answer, its answer to a richer input too."""
    exact, same = ref.simple_attention(*as64(q, k, v)), ref.simple_attention(q, k, v)
    if not isinstance(got, np.ndarray):
        return
    obs = diagnose.observe((got,), exact=(exact,), allowed=(_budget(same, exact, got),),
                           compute=lambda switches: mistakes.simple(q, k, v, **switches), bank=mistakes.SIMPLE,
                           loose=_loose(lambda *a: (ref.simple_attention(*a),), q, k, v, (exact,), (got,)),
                           again=None if student is None else lambda: (student.call("simple_attention", q, k, v),))
    if obs.wrong and student is not None and kit.final_example():
        rich = probe_like(SIMPLE_PROBE, q)
        try:
            answer = student.call("simple_attention", *rich.arrays())
        except StudentError:
            return
        simple_diagnosis(answer, *rich.arrays())


def check_simple(got, q, k, v, *, hint: str = HINT_VALUES, student=None) -> np.ndarray:
    """Fail with a description unless ``got`` is simple_attention(q, k, v); record the answer."""
    exact, same = ref.simple_attention(*as64(q, k, v)), ref.simple_attention(q, k, v)
    simple_diagnosis(got, q, k, v, student)
    got = expect_array(got, name="simple_attention's output", like=same)
    compare.assert_close(got, oracle=exact, ref=same, name="simple_attention's output", hint=hint)
    return got


def sdpa_oracle(q, k, v):
    """(float64 oracle, reference in the inputs' dtype), each an (output, weights) pair."""
    return ref.scaled_dot_product_attention(*as64(q, k, v)), ref.scaled_dot_product_attention(q, k, v)


def sdpa_diagnosis(got, q, k, v, student=None, slack: float = 1.0) -> None:
    """Record scaled_dot_product_attention's (output, weights) for the diagnosis of the whole submission; on
    a wrong final answer, its answers to richer inputs too (batch size = Lk = d, where key.T gives numbers
    instead of a shape error; and no batch, d = 4, where code that only works in 2-D still answers)."""
    if not (isinstance(got, tuple) and len(got) == 2 and all(isinstance(g, np.ndarray) for g in got)):
        return
    exact, same = sdpa_oracle(q, k, v)
    obs = diagnose.observe(got, exact=exact, allowed=[_budget(s, e, g) * slack for s, e, g in zip(same, exact, got)],
                           compute=lambda switches: mistakes.compute(q, k, v, **switches), bank=mistakes.SDPA,
                           loose=_loose(ref.scaled_dot_product_attention, q, k, v, exact, got),
                           again=None if student is None else lambda: tuple(student.call(SDPA, q, k, v)))
    if obs.wrong and student is not None and kit.final_example():
        for probe in (RICH, FLAT):  # a batch (where key.T gives numbers, not an error); d > 1 without one
            rich = probe_like(probe, q)
            try:
                answer = compare.expect_tuple(student.call(SDPA, *rich.arrays()), NAMES, what=SDPA)
            except (StudentError, CheckFailure):
                continue
            sdpa_diagnosis(tuple(answer), *rich.arrays(), slack=slack)


def _sizeless(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def error_diagnosis(error: StudentError, q, k, v) -> str | None:
    """The known mistakes that raise the submission's error on these inputs (sizes aside).

    Sizes are ignored, and a fixed batch with all sizes different is tried too: after a
    first failure the proxy repeats that error for the rest of the check, so the message
    may come from an earlier, differently sized example.
    """
    if not kit.final_example():
        return None
    probes = ((q, k, v), AttentionInputs(batch=(2,), lq=3, lk=4, d=5, dv=2, scores="normal", seed=1).arrays())
    found = []
    for mistake in mistakes.SDPA:
        for arrays in probes:
            try:
                mistakes.run_sdpa(mistake, *arrays)
            except ValueError as raised:
                if str(raised) and _sizeless(str(raised)) in _sizeless(error.summary):
                    found.append(mistake)
                    break
    return diagnose.describe(found)


def expect_pair(got, like, q=None, k=None, v=None, student=None, slack: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(output, weights) as arrays of ``like``'s shapes and dtypes; with q, k, v, the answer is recorded
    (a wrong shape may still be a known mistake's)."""
    got = tuple(compare.expect_tuple(got, NAMES, what=SDPA))
    if q is not None:
        sdpa_diagnosis(got, q, k, v, student, slack)
    return tuple(expect_array(g, name=name, like=s) for g, s, name in zip(got, like, NAMES))


def check_sdpa(got, q, k, v, *, hint: str = HINT_VALUES, student=None, slack: float = 1.0):
    """Fail unless (output, weights) match the reference; weights first (they explain the output).
    ``slack`` widens the budget (NumPy's float16 rounds every operation: a few ulps more are fair)."""
    exact, same = sdpa_oracle(q, k, v)
    got = expect_pair(got, same, q, k, v, student, slack)
    for index in (1, 0):
        compare.assert_close(got[index], oracle=exact[index], ref=same[index], name=NAMES[index], hint=hint,
                             slack=slack)
    return got


def check_finite(value: np.ndarray, what: str, diagnosis=None, hint: str | None = None) -> None:
    bad = ~np.isfinite(value)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CheckFailure(MSG_NOT_FINITE.format(what=what, index=index), diagnosis=diagnosis, hint=hint)


# -- simple_attention ----------------------------------------------------------------

@pytest.mark.points(3)
@given(inputs=attention_inputs(simple=True))
def test_simple_attention_matches_reference(student, inputs):
    """simple_attention matches the reference (float64)"""
    q, k, v = inputs.arrays()
    check_simple(student.call("simple_attention", q, k, v), q, k, v, student=student)


@pytest.mark.points(1)
@given(inputs=attention_inputs(simple=True, dtypes=("int64", "int32", "float32")))
def test_simple_attention_dtypes(student, inputs):
    """simple_attention: integer input gives float64, float32 stays float32"""
    q, k, v = inputs.arrays()
    check_simple(student.call("simple_attention", q, k, v), q, k, v, hint=HINT_DTYPE, student=student)


@pytest.mark.points(2)
@given(inputs=attention_inputs(simple=True, scores=("large",), dtypes=("float64", "float32")))
def test_simple_attention_large_scores(student, inputs):
    """simple_attention stays finite and exact for scores of size 1e4"""
    q, k, v = inputs.arrays()
    check_simple(student.call("simple_attention", q, k, v), q, k, v, hint=HINT_STABLE, student=student)


# -- scaled_dot_product_attention ----------------------------------------------------

@pytest.mark.points(3)
@given(inputs=attention_inputs())
def test_sdpa_matches_reference(student, inputs):
    """scaled_dot_product_attention matches the reference (0 to 2 batch dims)"""
    q, k, v = inputs.arrays()
    check_sdpa(student.call(SDPA, q, k, v), q, k, v, student=student)


@pytest.mark.points(1)
@given(inputs=attention_inputs(dtypes=("float32",), scores=("large", "spread")))
def test_sdpa_rows_sum_to_one(student, inputs):
    """Every row of weights sums to 1, for scores up to 1e4 (float32)"""
    q, k, v = inputs.arrays()
    exact, same = sdpa_oracle(q, k, v)
    output, weights = expect_pair(student.call(SDPA, q, k, v), same, q, k, v, student)
    w64 = weights.astype(np.float64)
    negative = w64 < 0
    if negative.any():
        index = tuple(int(i) for i in np.argwhere(negative)[0])
        raise CheckFailure(MSG_NEGATIVE.format(what="weights", value=float(w64[index]), index=index))
    compare.assert_close(w64.sum(axis=-1), oracle=exact[1].sum(axis=-1), ref=same[1].sum(axis=-1),
                         name="the row sums of weights", hint=HINT_STABLE)


@pytest.mark.points(1)
@settings(max_examples=15)
@given(inputs=st.one_of(attention_inputs(batch_dims=(1, 2), scores=("normal", "spread")),
                        attention_inputs(batch_dims=(1, 2), square=True)))
def test_sdpa_batch_independent(student, inputs):
    """Batch items are independent: a batch gives the results of its items one at a time

    A property: the submission's batched answer is compared with its own unbatched
    answers. Square shapes (batch sizes = Lk = d) make key.T give wrong numbers instead
    of a shape error; rows with scores of order 1 and 3e3 mix in one batch.
    """
    q, k, v = inputs.arrays()
    batch = q.shape[:-2]
    _, same = sdpa_oracle(q, k, v)
    items = list(np.ndindex(*batch))
    try:  # the whole batch first: an error here is the same on every replay of the example
        whole = expect_pair(student.call(SDPA, q, k, v), same, q, k, v, student)
    except StudentException as error:
        raise CheckFailure(MSG_BATCH_RAISES.format(fn=SDPA, shape=q.shape, error=error.summary),
                           diagnosis=error_diagnosis(error, q, k, v),
                           hint="Transpose only the last two axes: np.swapaxes(key, -1, -2), not key.T; "
                                "use @ (np.matmul), which broadcasts over batch dimensions.") from None
    alone = [expect_pair(student.call(SDPA, q[index], k[index], v[index]), tuple(s[index] for s in same))
             for index in items]
    for index, pair in zip(items, alone):
        exact_i, same_i = sdpa_oracle(q[index], k[index], v[index])
        for name, one, many, s, e in zip(NAMES, pair, (w[index] for w in whole), same_i, exact_i):
            diagnosis = None  # the diagnosis of the whole submission names it (the batch answer is recorded)
            check_finite(many, f"{name} of batch item {index}", diagnosis, HINT_STABLE)
            check_finite(one, f"{name} of batch item {index} alone", None, HINT_STABLE)
            allowed = 2 * compare.allowed_error(s, e)
            m = compare.mismatch(many, one, allowed, name=f"{name} of batch item {index}")
            if m is not None:
                raise CheckFailure(MSG_BATCH.format(index=index, fn=SDPA), diagnosis=diagnosis, mismatch=m,
                                   hint="Transpose only the last two axes (np.swapaxes(key, -1, -2)) and "
                                        "take max and sum over axis=-1 with keepdims=True.")


@pytest.mark.points(1)
@settings(max_examples=15)
@given(inputs=attention_inputs(dtypes=("float16",), scores=("moderate",)))
def test_sdpa_half_precision(student, inputs):
    """scaled_dot_product_attention in float16 with scores of order 20 (exp overflows float16 at 11)

    float16 stays float16, and each row's max must be subtracted even at these ordinary magnitudes.
    """
    q, k, v = inputs.arrays()
    check_sdpa(student.call(SDPA, q, k, v), q, k, v, hint=HINT_STABLE + " Keep the inputs' dtype.", student=student,
               slack=HALF_SLACK)


@pytest.mark.points(1)
@given(inputs=attention_inputs(dtypes=("float32", "int64")))
def test_sdpa_dtypes(student, inputs):
    """scaled_dot_product_attention: float32 stays float32, integer input gives float64"""
    q, k, v = inputs.arrays()
    check_sdpa(student.call(SDPA, q, k, v), q, k, v, hint=HINT_DTYPE, student=student)


# -- both ------------------------------------------------------------------------------

@pytest.mark.points(1)
def test_inputs_unmodified(student):
    """Both functions leave their input arrays unmodified"""
    simple = AttentionInputs(batch=(), lq=1, lk=4, d=3, dv=2, scores="normal", seed=3, simple=True)
    batched = AttentionInputs(batch=(2,), lq=3, lk=4, d=3, dv=2, scores="normal", seed=4)
    for fn, inputs, arg_names in (("simple_attention", simple, ("query", "keys", "values")),
                                  (SDPA, batched, ("query", "key", "value"))):
        sent = inputs.arrays()
        reply = student.run(fn, *sent, echo_inputs=True)
        kit.check_unmodified(reply, [(name, position, array) for position, (name, array)
                                     in enumerate(zip(arg_names, sent))], fn=fn,
                             hint="Make new arrays (q = q / s), never change the ones you were "
                                  "given (q /= s changes the caller's array).")
