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

Failing runs are replayed too, and kept as passing ones are. What Hypothesis does after an example depends
only on how the examples so far ended, and a failure ends one by where it was raised (its
*origin*: the exception's type, the file and line it came from, and the same of the exception it
was raised in handling; Hypothesis's ``InterestingOrigin``). So a run that failed, shrank and
ended on a final example is a *trace*: every call of the body, each with how it ended, and the
notes Hypothesis added to the final error (its "Failing test case"). A later submission whose
examples end the same way, one after the other (the same mistake, typically), walks the same
trace: Hypothesis would have drawn, shrunk and ended exactly so. Its final example runs as
Hypothesis runs it (final: the check records its answers for the diagnosis), and its own error
is raised with the trace's notes: the result Hypothesis would give, without its engine. At the
first example that ends otherwise than every trace, the check runs under Hypothesis as above.
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
from hypothesis.internal.escalation import InterestingOrigin
from hypothesis.reporting import current_reporter, with_reporter
from hypothesis.strategies._internal.core import DataObject

from grader.run import replay_store

RECORDS_KEPT = 512   # checks remembered per process (each a few dozen small argument sets)
TRACES_KEPT = 16     # failing runs remembered per check (the commonest mistakes of a class)
_records: dict[Hashable, tuple[Example, ...]] = {}
_traces: dict[Hashable, list[Trace]] = {}


@dataclass(frozen=True)
class Example:
    """One call of a test's body as Hypothesis made it: its drawn arguments, and how it ended."""

    kwargs: dict[str, Any]
    is_final: bool        # Hypothesis runs explicit @example()s as final ones
    valid: bool           # False: it was rejected (assume, reject) and Hypothesis drew another
    failure: Hashable = None   # where it failed (origin_of), None when it passed or was rejected

    @property
    def ending(self) -> tuple[bool, Hashable]:
        return self.valid, self.failure


@dataclass(frozen=True)
class Trace:
    """A whole run of a check under Hypothesis: every call of its body in order, and ``notes``, what
    Hypothesis noted on the error it ended with (None: the run passed)."""

    examples: tuple[Example, ...]
    notes: tuple[str, ...] | None = None


def origin_of(error: BaseException) -> Hashable:
    """How Hypothesis tells one failure from another (:class:`InterestingOrigin`), as plain values:
    (the exception's type by name, its file, its line, the same of its context, of its group's);
    ``UNKNOWN`` (which no replay follows) should it fail to say."""
    try:
        return _plain(InterestingOrigin.from_exception(error))
    except Exception:
        return UNKNOWN


UNKNOWN = ("unknown",)


def _plain(origin: Any) -> Hashable:
    if not isinstance(origin, InterestingOrigin):
        return ()
    return (f"{origin.exc_type.__module__}.{origin.exc_type.__qualname__}", origin.filename, origin.lineno,
            _plain(origin.context), tuple(_plain(element) for element in origin.group_elems))


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


def traces(key: Hashable, *, saved: bool = True) -> list[Trace]:
    """Every run of ``key`` this process can replay: the passing one first (if recorded), then the
    failing ones it has seen (with ``saved``, or else those in the cache folder)."""
    passed = recorded(key, saved=saved)
    if saved and key not in _traces:
        _traces[key] = replay_store.load_failures(key, Example, Trace)[-TRACES_KEPT:]
    return ([Trace(passed)] if passed else []) + list(_traces.get(key, ()))


def keep(key: Hashable, examples: list[Example], *, save: bool = True) -> None:
    _remember(key, tuple(examples))
    if save:
        replay_store.save(key, _records[key])


def keep_failure(key: Hashable, trace: Trace, *, save: bool = True) -> None:
    """Remember a failing run of ``key`` (and with ``save``, in the cache folder), the oldest forgotten
    past TRACES_KEPT. (A run is made once: the next one that would end so follows it instead.)"""
    kept = _traces.setdefault(key, [])
    if len(kept) >= TRACES_KEPT:
        kept.pop(0)
    kept.append(trace)
    while len(_traces) > RECORDS_KEPT:
        _traces.pop(next(iter(_traces)))
    if save:
        replay_store.save_failures(key, kept)


def _remember(key: Hashable, examples: tuple[Example, ...]) -> None:
    if len(_records) >= RECORDS_KEPT and key not in _records:
        _records.pop(next(iter(_records)))
    _records[key] = examples


def forget() -> None:
    """Drop every record (tests, and anyone who wants grading without replay)."""
    _records.clear()
    _traces.clear()


@dataclass
class Recording:
    """What :func:`recording` noted of one run under Hypothesis."""

    examples: list[Example]
    usable: bool = True
    last_error: BaseException | None = None   # what the last call of the body raised
    own_notes: int = 0                        # how many notes that error had as it left the body

    def failed_as(self, error: BaseException) -> Trace | None:
        """The run as a trace, when it ended with ``error`` raised by its final example and nothing
        else in its notes but what Hypothesis added (so that a replay can add the same)."""
        if not (self.usable and self.examples and error is self.last_error and isinstance(error, Exception)):
            return None
        last = self.examples[-1]
        notes = getattr(error, "__notes__", [])
        if not (last.is_final and last.failure is not None and all(isinstance(n, str) for n in notes)):
            return None
        if getattr(error, "for_every_input", False):
            return None   # the plugin ends such a check at its first example (plugin._fails_for_every_input)
        return Trace(tuple(self.examples), tuple(notes[self.own_notes:]))


@contextlib.contextmanager
def recording(item: pytest.Item, fixtures: dict[str, Any]) -> Iterator[Recording]:
    """While the test runs under Hypothesis, note every call of its body and how it ended (unusable
    when the test draws interactively, ``st.data()``: its arguments alone do not say its example,
    or when its final example reports anything to Hypothesis: a replay could not say the same)."""
    handle = item.obj.hypothesis
    inner = handle.inner_test
    noting = Recording([])

    @functools.wraps(inner)
    def noted(*args, **kwargs):
        drawn = {k: v for k, v in kwargs.items() if k not in fixtures}
        if args or any(isinstance(v, DataObject) for v in drawn.values()):
            noting.usable = False
        try:
            saved = fresh(drawn)   # before the body can change them
        except Exception:
            noting.usable, saved = False, {}
        final = bool(current_build_context().is_final)
        try:
            with _reports_told(noting) if final else contextlib.nullcontext():
                result = inner(*args, **kwargs)
        except UnsatisfiedAssumption:
            noting.examples.append(Example(saved, final, valid=False))
            raise
        except Exception as error:
            failure = origin_of(error)
            noting.usable = noting.usable and failure != UNKNOWN
            noting.examples.append(Example(saved, final, valid=True, failure=failure))
            noting.last_error, noting.own_notes = error, len(getattr(error, "__notes__", ()))
            raise
        except BaseException:
            noting.usable = False   # a skip, an interrupt: not an ending a replay repeats
            raise
        noting.examples.append(Example(saved, final, valid=True))
        noting.last_error = None
        return result

    handle.inner_test = noted
    try:
        yield noting
    finally:
        handle.inner_test = inner


@contextlib.contextmanager
def _reports_told(noting: Recording, *, forward: bool = True) -> Iterator[None]:
    """Mark the run unusable if the body reports anything (``hypothesis.note``), and pass it on to
    Hypothesis's reporter (``forward``; a replay has none to pass it to)."""
    outer = current_reporter()

    def told(value):
        noting.usable = False
        if forward:
            outer(value)

    with with_reporter(told):
        yield


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


@dataclass
class Outcome:
    """How a replay ended: ``passed``; or ``failed`` as a recorded run did, with the final example's
    ``error`` and the ``notes`` Hypothesis gave it; or neither, stopped at the example ``stopped_at``
    (with what that one raised) because it ended otherwise than every recorded run."""

    passed: bool
    stopped_at: int | None = None
    error: BaseException | None = None
    notes: tuple[str, ...] | None = None

    @property
    def failed(self) -> bool:
        return self.notes is not None


def replay(item: pytest.Item, runs: list[Trace], fixtures: dict[str, Any]) -> Outcome:
    """Run the test's body on the recorded examples, one after the other, while each ends as it did in
    some recorded run; the outcome of the run that every example followed to its end.

    Stops at the first example that ends otherwise (a failure, or a rejection, or a pass, that no
    recorded run had there). Runs with the same endings so far made the same next example (what
    Hypothesis draws next depends on nothing else), so any of them says which one to run.
    """
    inner = item.obj.hypothesis.inner_test
    following = [run for run in runs if run.examples]
    error: BaseException | None = None
    index = 0
    with deterministic_PRNG() if RESEED else contextlib.nullcontext():
        while True:
            ended = [run for run in following if len(run.examples) == index]
            if ended:
                if len(ended) < len(following):   # one run ended here, another went on: never so
                    return Outcome(False, index, None)
                return Outcome(True) if ended[0].notes is None else Outcome(False, error=error, notes=ended[0].notes)
            example = following[0].examples[index]
            ending, error = _run_once(item, inner, example, fixtures)
            following = [run for run in following if run.examples[index].ending == ending]
            if not following or (index == 0 and getattr(error, "for_every_input", False)):
                return Outcome(False, index, error)
            index += 1


def _run_once(item: pytest.Item, inner, example: Example, fixtures: dict[str, Any]) -> tuple[tuple, Any]:
    """The body on ``example``, as Hypothesis runs it: (how it ended, what it raised)."""
    kwargs = {**fixtures, **fresh(example.kwargs)}
    data = ConjectureData.for_choices(())
    if RESEED:
        reseed()
    told = Recording([])
    try:
        with contextlib.nullcontext() if RESEED else deterministic_PRNG(), \
                BuildContext(data, is_final=example.is_final, wrapped_test=item.obj), \
                _reports_told(told, forward=False) if example.is_final else contextlib.nullcontext():
            inner(**kwargs)
    except UnsatisfiedAssumption as error:
        return (False, None), error
    except Exception as error:
        # A final example that reported something (hypothesis.note) could not be said as then.
        return ((True, origin_of(error)) if told.usable else (True, UNKNOWN)), error
    return ((True, None) if told.usable else (True, UNKNOWN)), None


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
