"""The steps checks share: building the student's module with known weights, calling it,
the oracle pair, gradients against the reference, inputs left unmodified, the parameter
layout, and narrowing a diagnosis down on a richer input.

Each step either returns what the check needs next or raises a
:class:`~grader.errors.CheckFailure` (or lets the submission's
:class:`~grader.errors.StudentError` through) with a sentence a student can act on.
Every function is keyword-only after its first arguments, so a check reads as what it
checks.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np
import torch
from hypothesis.control import current_build_context

from grader import errors
from grader.kit import compare, diagnose, strategies
from grader.sandbox.proxy import RemoteObject, Reply, Student

MSG_NO_GRAPH = "No gradient reaches the {output}: it does not require grad."
MSG_NO_GRAD = "No {label}: it is not used in a differentiable way."
MSG_MODIFIED = "{fn} modified its {arg} argument in place."
MSG_MODIFIED_WHY = ("{fn} changes the {arg} it was given in place (an in-place operation such as .eq_(0), "
                    "masked_fill_, /= or x[...] = on the argument itself), so the caller's {arg} changes too: "
                    "use the out-of-place form (x = x.masked_fill(...)) or work on a copy.")
MSG_PARAMETERS = "The parameters of {what} are not the ones the README specifies."
HINT_NO_GRAPH = "Do not call .detach(), .numpy() or torch.no_grad() in forward."
HINT_INPLACE = ("Use out-of-place operations (x = x * s, not x *= s; masked_fill, not masked_fill_) on "
                "tensors you were given.")
HINT_PARAMETERS = "Use exactly the submodules, names and sizes listed in the README."


def final_example() -> bool:
    """False while Hypothesis searches and shrinks; True on its final replay (or outside Hypothesis).

    Diagnosing costs many mistake computations and maybe calls to the submission, so a
    check diagnoses only the example the student will see.
    """
    try:
        return bool(current_build_context().is_final)
    except Exception:  # not inside a Hypothesis test
        return True


ORACLES_KEPT = 4096  # oracle pairs (and other remembered answers) per grading process: a few MiB in all
_oracles: OrderedDict = OrderedDict()


def oracle_pair(compute: Callable[[torch.dtype], Any], *, dtype: torch.dtype, key: Hashable = None) -> tuple[Any, Any]:
    """``(compute(float64), compute(dtype))``: the exact answer and the reference's in the check's dtype.

    The first is what the student's answer is compared with; the second sets the error
    budget (how wrong the reference itself is in that dtype).

    With ``key`` (whatever decides ``compute``'s answer, such as the frozen input bundle and
    the check's name for the computation), the pair is computed once per grading process (and
    device) and then remembered: a check asks for it several times per example (to compare, to
    diagnose), and every student of a class draws the same examples. So are the error budgets
    computed from it (:func:`~grader.kit.compare.remember_budgets`). The pair is shared: never
    change it in place.
    """
    if key is None:
        return compute(torch.float64), compute(dtype)
    return remembered(lambda: (compute(torch.float64), compute(dtype)), key=("oracle_pair", key, dtype))


def remembered(compute: Callable[[], Any], *, key: Hashable) -> Any:
    """``compute()``, computed once per grading process and device for each ``key`` (whatever decides its
    answer: the input bundle, a seed, the check's name for the computation), such as the reference's
    gradients; error budgets computed from its tensors are remembered too. The answer is shared: never
    change it in place."""
    full = (key, strategies.current_device())
    found = _oracles.pop(full, None)
    if found is None:
        found = compute()
        compare.remember_budgets(found)
    _oracles[full] = found
    while len(_oracles) > ORACLES_KEPT:
        _oracles.popitem(last=False)
    return found


def build(student: Student, class_name: str, *args: Any, state: Mapping[str, torch.Tensor],
          dtype: torch.dtype = torch.float32, layout: str | None = None, **kwargs: Any) -> RemoteObject:
    """The student's ``class_name(*args, **kwargs)``, converted to ``dtype``, with ``state`` loaded.

    The module is made with its first call: making, converting, loading and calling it are
    one request (:meth:`~grader.sandbox.proxy.Student.deferred`), and an error in any stage
    still names that stage. With ``layout`` (how to name the module in a message), first
    fail unless its parameters are exactly those of ``state`` (:func:`expect_parameters`),
    rather than let loading fail (that makes and converts it at once; loading waits for the call).
    """
    module = student.deferred(class_name, *args, **kwargs)
    if dtype != torch.float32:
        module.to_dtype(dtype)
    if layout is not None:
        expect_parameters(module, state, what=layout)
    module.load_state_dict(dict(state))
    return module


def forward(module: RemoteObject, *args: Any, mask: torch.Tensor | None = None, **options: Any) -> Reply:
    """Call the module; ``mask`` is passed (as a keyword) only when there is one."""
    kwargs = {} if mask is None else {"mask": mask}
    return module.run(*args, **kwargs, **options)


def expect_tensors(value: Any, like: Sequence[torch.Tensor], *, names: Sequence[str],
                   what: str) -> tuple[torch.Tensor, ...]:
    """``value`` must be a tuple of tensors with the shapes, dtypes and devices of ``like``."""
    got = compare.expect_tuple(value, names, what=what)
    return tuple(compare.expect_tensor(g, name=name, like=s) for g, s, name in zip(got, like, names))


def expect_parameters(module: RemoteObject, state: Mapping[str, torch.Tensor], *, what: str) -> None:
    """Fail unless the student's module has exactly the parameters (names, shapes) of ``state``."""
    expected = {n: list(t.shape) for n, t in state.items()}
    got = {n: list(shape) for n, (shape, _) in module.parameters.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
    if missing or extra or wrong:
        lines = [f"missing: {', '.join(missing)}"] if missing else []
        lines += [f"not in the specification: {', '.join(extra)}"] if extra else []
        lines += [f"{n} has shape {tuple(got[n])}, expected {tuple(expected[n])}" for n in wrong]
        raise errors.CheckFailure(MSG_PARAMETERS.format(what=what), details="\n".join(lines),
                                  hint=HINT_PARAMETERS)


def require_graph(reply: Reply, *, output: str = "output", summary: str | None = None,
                  hint: str = HINT_NO_GRAPH) -> None:
    """Fail unless the submission's ``output`` is part of an autograd graph (``summary`` replaces
    the standard sentence)."""
    if not reply.has_graph:
        raise errors.CheckFailure(summary or MSG_NO_GRAPH.format(output=output), hint=hint)


def check_gradients(reply: Reply, expected: Mapping[str, torch.Tensor], *, inputs: Sequence[str] = (),
                    hint: str | None = None) -> None:
    """Compare every gradient the reference gives (``expected``) with the submission's.

    Names in ``inputs`` are the positional arguments, in order (their gradients are in
    ``reply.input_grads`` by position); every other name is a parameter. The reference
    gradient is both oracle and budget (it is computed in float64).
    """
    for name, exact in expected.items():
        got = reply.input_grads.get(list(inputs).index(name)) if name in inputs else reply.param_grads.get(name)
        label = f"gradient of {name}"
        if got is None:
            raise errors.CheckFailure(MSG_NO_GRAD.format(label=label))
        compare.expect_tensor(got, name=label, like=exact)
        compare.assert_close(got, oracle=exact, ref=exact, name=label, budget="grad", hint=hint)


def check_unmodified(reply: Reply, sent: Iterable[tuple[str, int | str, torch.Tensor]], *, fn: str,
                     hint: str = HINT_INPLACE) -> None:
    """Fail if the submission changed an input in place.

    ``reply`` comes from a call with ``echo_inputs=True``; ``sent`` lists (name, position
    or keyword, tensor as sent) for each input to look at.
    """
    after = reply.inputs_after or {}
    args, kwargs = list(after.get("args") or ()), dict(after.get("kwargs") or {})
    for name, where, original in sent:
        if original is None:
            continue
        now = args[where] if isinstance(where, int) and where < len(args) else kwargs.get(where)
        if not _unchanged(now, original):
            raise errors.CheckFailure(MSG_MODIFIED.format(fn=fn, arg=name), hint=hint,
                                      diagnosis=MSG_MODIFIED_WHY.format(fn=fn, arg=name))


def _unchanged(now: Any, original: torch.Tensor | np.ndarray) -> bool:
    """Whether ``now`` (the input as the submission left it) is still ``original``: same type,
    shape, dtype and every element."""
    if isinstance(original, np.ndarray):
        return isinstance(now, np.ndarray) and now.shape == original.shape and now.dtype == original.dtype \
            and np.array_equal(now, original)
    return isinstance(now, torch.Tensor) and now.shape == original.shape and now.dtype == original.dtype \
        and torch.equal(now, original)


MSG_TWICE = "Two identical calls gave different {name}: something random is active."


def expect_same_twice(first: Sequence[Any], second: Sequence[Any], names: Sequence[str]) -> None:
    """Fail unless two answers to the same call agree (within the rounding of the first): no dropout, no
    random numbers drawn in forward."""
    for a, b, name in zip(first, second, names):
        m = compare.mismatch(b, a, compare.allowed_error(a, a), name=f"{name} of the second call")
        if m is not None:
            diagnose.observe_nondeterministic()
            raise errors.CheckFailure(MSG_TWICE.format(name=name), mismatch=m,
                                      diagnosis=diagnose.MSG_NONDETERMINISTIC, hint=diagnose.HINT_NONDETERMINISTIC)


def narrow(found: list, probes: Iterable[Any], *, ask: Callable[[Any], Any],
           matching: Callable[[Any, Any], list], keep_all: bool = True) -> list:
    """Narrow several matching mistakes down by asking the submission about richer inputs.

    Shrunk examples are small, and small inputs often cannot tell mistakes apart. For
    each of ``probes`` in turn, ``ask(probe)`` gets the submission's answer and
    ``matching(answer, probe)`` the mistakes that give it; a mistake stays only while it
    matches. With ``keep_all``, a probe that would leave none keeps the previous list
    (the submission may be wrong there in some other way). A probe the submission cannot
    answer ends the narrowing.
    """
    for probe in probes:
        if len(found) < 2:
            break
        try:
            answer = ask(probe)
        except (errors.StudentError, errors.CheckFailure):
            break
        again = matching(answer, probe)
        narrowed = [m for m in found if m in again]
        found = narrowed or (found if keep_all else narrowed)
    return found
