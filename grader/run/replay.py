"""Replaying the examples that pass: a check's Hypothesis run, without Hypothesis, when it would pass.

With a fixed seed, Hypothesis draws the same examples for every submission until one of
them fails: which examples it draws next depends only on the seed and on how the earlier
ones ended (passed, or rejected as invalid), never on the answers themselves. So once one
submission has passed a check in this process, its examples are known: the arguments of
each call of the test's body (``wrapped_test.hypothesis.inner_test``), and how it ended.

For every later submission the grading plugin first calls the body on those arguments
directly (:func:`replay`), each example as Hypothesis runs one: the same seeded global
random generators (``deterministic_PRNG``), in a build context that is not the final one
(so checks diagnose nothing, ``kit.final_example()`` is False). When every example ends
as recorded, the check has passed exactly as Hypothesis would have passed it, and
Hypothesis's engine (its draws, its search tree, its per-example seeding) is never run.

When one ends otherwise, nothing of the replay is kept: the check runs under Hypothesis
for real, with a fresh ``student``, nothing observed for the diagnosis, and the requests
the replay made answered from its tape (:meth:`~grader.sandbox.proxy.SubmissionRunner.serve`):
the child's history, its time and its timeouts are those of grading without replay.
Hypothesis draws the same examples, fails at the same one and shrinks as it would have.

Records are kept per grading process (a batch worker, ``--watch``), keyed by the check
(its id and its file's bytes), the seed, the devices and Hypothesis's version, and saved in
the user's cache folder (:mod:`grader.run.replay_store`), so the next ``grade`` of the same
exercise starts from them too.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Iterator

import hypothesis
import pytest
import torch
from hypothesis.control import BuildContext, current_build_context
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal import entropy
from hypothesis.internal.entropy import deterministic_PRNG
from hypothesis.strategies._internal.core import DataObject

from grader.run import replay_store

RECORDS_KEPT = 512   # checks remembered per process (each a few dozen small argument sets)
_records: dict[Hashable, tuple[Example, ...]] = {}


@dataclass(frozen=True)
class Example:
    """One call of a test's body as Hypothesis made it: its drawn arguments, and how it ended."""

    kwargs: dict[str, Any]
    is_final: bool        # Hypothesis runs explicit @example()s as final ones
    valid: bool           # False: it was rejected (assume, reject) and Hypothesis drew another


def replayable(item: pytest.Item) -> bool:
    """A Hypothesis test whose body takes its arguments from @given (not interactive draws)."""
    return getattr(getattr(item, "obj", None), "hypothesis", None) is not None


def key_of(item: pytest.Item, seed: Any, devices: tuple[str, ...]) -> Hashable:
    settings = getattr(item.obj, "_hypothesis_internal_use_settings", None)
    return (item.nodeid, _file_digest(Path(str(item.path))), _drawing_digest(Path(str(item.path)).parent),
            str(seed), tuple(devices), hypothesis.__version__,
            getattr(settings, "max_examples", None), tuple(getattr(settings, "phases", ())))


KIT = Path(__file__).resolve().parents[1] / "kit"


def _drawing_digest(checks: Path) -> str:
    """The sources that decide what a check draws besides its own file: the kit (its strategies)
    and the other modules of the check's folder (shared helpers), so that an edited strategy in
    a development tree never replays a record drawn by the old one."""
    return hashlib.sha256("".join(_file_digest(p) for p in sorted([*KIT.glob("*.py"), *checks.glob("*.py")])
                                  ).encode()).hexdigest()


@functools.lru_cache(maxsize=64)
def _file_digest_cached(path: Path, mtime: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return ""
    return _file_digest_cached(path, info.st_mtime_ns, info.st_size)


def recorded(key: Hashable, *, saved: bool = True) -> tuple[Example, ...] | None:
    """The examples recorded for ``key`` in this process (with ``saved``, else in the cache folder)."""
    found = _records.get(key)
    if found is None and saved:
        found = replay_store.load(key, Example)
        if found is not None:
            _remember(key, found)
    return found


def keep(key: Hashable, examples: list[Example], *, save: bool = True) -> None:
    _remember(key, tuple(examples))
    if save:
        replay_store.save(key, _records[key])


def _remember(key: Hashable, examples: tuple[Example, ...]) -> None:
    if len(_records) >= RECORDS_KEPT and key not in _records:
        _records.pop(next(iter(_records)))
    _records[key] = examples


def forget() -> None:
    """Drop every record (tests, and anyone who wants grading without replay)."""
    _records.clear()


@contextlib.contextmanager
def recording(item: pytest.Item, fixtures: dict[str, Any]) -> Iterator[list[Example] | None]:
    """While the test runs under Hypothesis, note every call of its body; yields the list (None
    when the test draws interactively, ``st.data()``: its arguments alone do not say its example)."""
    handle = item.obj.hypothesis
    inner = handle.inner_test
    examples: list[Example] = []
    usable = [True]

    @functools.wraps(inner)
    def noted(*args, **kwargs):
        drawn = {k: v for k, v in kwargs.items() if k not in fixtures}
        if args or any(isinstance(v, DataObject) for v in drawn.values()):
            usable[0] = False
        try:
            saved = fresh(drawn)   # before the body can change them
        except Exception:
            usable[0], saved = False, {}
        final = bool(current_build_context().is_final)
        try:
            result = inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            examples.append(Example(saved, final, valid=False))
            raise
        examples.append(Example(saved, final, valid=True))
        return result

    handle.inner_test = noted
    try:
        yield examples
    finally:
        handle.inner_test = inner
        if not usable[0]:
            examples.clear()
            examples.append(None)   # marks the record unusable


ATOMS = (int, float, complex, bool, str, bytes, type(None), torch.dtype)


def fresh(drawn: dict[str, Any]) -> dict[str, Any]:
    """A copy of drawn arguments that the test's body cannot change through: each a deep copy, but for
    values nothing can change (numbers, strings, the kit's frozen input bundles of them), which are
    shared as they are (a deep copy of a frozen bundle is an equal bundle: nothing tells them apart)."""
    return {k: v if _unchanging(v) else copy.deepcopy(v) for k, v in drawn.items()}


def _unchanging(value: Any) -> bool:
    kind = type(value)
    if kind in ATOMS:
        return True
    if kind is tuple or kind is frozenset:
        return all(_unchanging(v) for v in value)
    params = getattr(kind, "__dataclass_params__", None)
    if params is not None and params.frozen and kind.__module__ == KIT_BUNDLES:
        return all(_unchanging(getattr(value, f)) for f in kind.__dataclass_fields__)
    return False


KIT_BUNDLES = "grader.kit.strategies"


def usable(examples: list[Example | None]) -> bool:
    return bool(examples) and None not in examples


@dataclass
class Outcome:
    """How a replay ended: ``passed``, or the example it stopped at and what that one raised."""

    passed: bool
    stopped_at: int | None = None
    error: BaseException | None = None


def replay(item: pytest.Item, examples: tuple[Example, ...], fixtures: dict[str, Any]) -> Outcome:
    """Run the test's body on each recorded example; passed when each ended as it did then.

    Stops at the first that ends otherwise (a failure, or a rejection that was not one then).
    """
    inner = item.obj.hypothesis.inner_test
    with deterministic_PRNG() if RESEED else contextlib.nullcontext():
        for index, example in enumerate(examples):
            kwargs = {**fixtures, **fresh(example.kwargs)}
            data = ConjectureData.for_choices(())
            if RESEED:
                reseed()
            try:
                with contextlib.nullcontext() if RESEED else deterministic_PRNG(), \
                        BuildContext(data, is_final=example.is_final, wrapped_test=item.obj):
                    inner(**kwargs)
            except UnsatisfiedAssumption as error:
                if example.valid:
                    return Outcome(False, index, error)
                continue
            except Exception as error:
                return Outcome(False, index, error)
            if not example.valid:
                return Outcome(False, index, None)
    return Outcome(True)


# Where Hypothesis names the generators it manages (6.x), a replay seeds them per example itself.
RESEED = hasattr(entropy, "_seeded_state") and hasattr(entropy, "RANDOMS_TO_MANAGE")


def reseed() -> None:
    """Give every random generator Hypothesis manages the state it gives each example it runs (what
    ``deterministic_PRNG()`` seeds), without saving and restoring them around each example: inside one
    ``deterministic_PRNG()`` for the whole replay, the body of each example starts from the very
    states it would under Hypothesis, and they are restored once, at the end. (Saving and restoring
    NumPy's state cost 0.15 ms an example, more than many a check's body.)"""
    state, _ = entropy._seeded_state(0)
    for ref in list(entropy.RANDOMS_TO_MANAGE.data.values()):
        generator = ref()
        if generator is None:
            continue
        if type(generator) is random.Random:
            generator.setstate(state)
        else:
            generator.seed(0)
