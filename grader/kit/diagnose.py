"""Which known mistake does a wrong answer match? (Part of the check kit, :mod:`grader.kit`.)

Two ways to ask:

- ``matching`` / ``describe`` / ``message``: the mistakes whose values equal one wrong
  answer within the check's tolerance (NaN matching NaN), for a check's own use.
- Observations, for the whole submission: a check records what the submission answered
  on an input (``observe``), right or wrong, with a way to compute each known mistake's
  answer to the same input. After the last check, ``explain`` looks for the known
  mistake, or the pair of mistakes, that reproduces *every* observation: each wrong
  answer, and each right one (a mistake that would have failed a check the submission
  passed is not its mistake). That is the diagnosis every failed check shows, and one
  mistake behind seven failures is named once, as one. Checks record the wrong answers
  of the final example only (``final_example``), and a few right ones per check.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch

from grader.kit import compare, device_errors


def matching(got: Sequence[Any], mistakes: Iterable[Any], compute: Callable[[Any], Sequence[Any]],
             allowed: Sequence[torch.Tensor], correct: Sequence[Any] | None = None) -> list[Any]:
    """Every mistake whose computed values all equal ``got`` within ``allowed``.

    With ``correct`` (the right answer), mistakes that give the right answer on this
    input are skipped: they cannot explain a wrong one (a mask mistake without a mask).
    """
    found = []
    for mistake in mistakes:
        try:
            expected = compute(mistake)
        except Exception:  # a mistake that does not apply to these inputs (shapes, say)
            continue
        if len(expected) != len(got):
            continue
        if correct is not None and all(compare.matches(c, e, a) for c, e, a in zip(correct, expected, allowed)):
            continue
        if all(g is not None and compare.matches(g, e, a) for g, e, a in zip(got, expected, allowed)):
            found.append(mistake)
    return found


MSG_AMBIGUOUS = "On this input, these mistakes give the same numbers: {messages}"


def describe(found: Sequence[Any]) -> str | None:
    """The message of the one matching mistake; all of them when the input cannot tell them apart."""
    if not found:
        return None
    if len(found) == 1:
        return found[0].message
    return MSG_AMBIGUOUS.format(messages=" Or: ".join(m.message for m in found))


def message(got: Sequence[Any], mistakes: Iterable[Any], compute: Callable[[Any], Sequence[Any]],
            allowed: Sequence[torch.Tensor]) -> str | None:
    """The diagnosis for ``got``, or None when it matches no known mistake."""
    return describe(matching(got, mistakes, compute, allowed))


# -- observations: what the submission answered, and what each mistake would have ---------------

MSG_PAIR = "Two mistakes together give your numbers: {first} And: {second}"
MSG_NONDETERMINISTIC = ("Your output changes between two identical calls: something random is active (dropout "
                        "left on, or random numbers drawn in forward). The README asks for no dropout.")
HINT_NONDETERMINISTIC = ("Remove the dropout (or any torch.rand*/randn* in forward): the same inputs and weights "
                         "must always give the same output.")
MSG_RANDOM_AND = "{first} And, whatever the randomness: {second}"
MSG_ERROR_AND = "{error} And where your code does answer: {text}"
MSG_ELSEWHERE = "Where your code does answer: {text}"
MSG_RAISES = "{text} And on a richer input, your code raises an error: {errors}"
RIGHT_KEPT = 3        # right answers kept per check (the largest): enough to rule mistakes out
MAX_COMBINATION = 2   # mistakes tried together


@dataclass(eq=False)
class Observation:
    """One answer of the submission: ``got`` (a tuple of values), whether it was ``wrong``, and how to
    compute the answer of a submission that makes given mistakes on the same input.

    ``compute(switches)`` returns the values for the merged switches of the mistakes in
    ``bank`` (the mistakes of the function that answered; others are no-ops here); ``allowed``
    is the check's tolerance per value, and ``loose()``, where given, the tolerance a
    float32-precision mistake gets (the input was float64).
    """

    got: tuple
    compute: Callable[[dict], Sequence[Any]]
    allowed: tuple
    wrong: bool
    bank: tuple = ()
    loose: Callable[[], Sequence[Any]] | None = None
    check: str = ""
    size: int = 0
    steady: bool = False  # asked again (``again``), it answered the same
    calm: bool = False    # answered with dropout held off (``calm``), the same twice: see ``observe``
    _seen: dict = field(default_factory=dict, repr=False)

    def reproduced_by(self, combination: Sequence[Any]) -> bool:
        """Whether a submission making exactly these mistakes answers as the submission did here."""
        here = tuple(m for m in combination if any(m is b for b in self.bank))
        key = tuple(id(m) for m in here)
        if key not in self._seen:
            self._seen[key] = self._reproduces(here)
        return self._seen[key]

    def _reproduces(self, here: tuple) -> bool:
        if not here:
            return not self.wrong                   # no mistake: the right answer
        switches = merged(here)
        if switches is None:
            return False
        allowed = self.allowed
        if any(getattr(m, "precision", None) for m in here) and self.loose is not None:
            # Computed in float32 and cast back: some returned tensor holds only float32 numbers (a positive
            # sign, so that a small error of another kind, an epsilon added to a sum, is not taken for it),
            # and all are within the float32 budget. (Without ``loose`` the input was not float64.)
            if not any(_float32_numbers(g) for g in self.got):
                return False
            allowed = tuple(self.loose())
        try:
            values = tuple(self.compute(switches))
        except Exception:  # the mistake cannot answer this input (it would raise): not what happened
            return False
        return len(values) == len(self.got) and all(
            g is not None and compare.matches(g, v, a) for g, v, a in zip(self.got, values, allowed))


def _float32_numbers(value: Any) -> bool:
    """Whether every element of ``value`` is exactly a float32 number (NaN and inf included)."""
    t = compare._as_tensor(value)
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return False
    t = t.detach().cpu().to(torch.float64)
    back = t.to(torch.float32).to(torch.float64)
    return bool(((back == t) | (torch.isnan(back) & torch.isnan(t))).all())


def merged(mistakes: Sequence[Any]) -> dict | None:
    """The switches of several mistakes together; None when two set the same switch."""
    switches: dict = {}
    for mistake in mistakes:
        for key, value in mistake.switches.items():
            if key in switches:
                return None
            switches[key] = value
    return switches


@dataclass
class Findings:
    """What one check recorded: its observations, and whether the submission answered one input
    two different ways (something random is active)."""

    observations: list = field(default_factory=list)
    nondeterministic: bool = False
    held: bool = False  # a calm answer was recorded: richer inputs are asked about calmly too
    errors: list = field(default_factory=list)  # known mistakes named from errors richer inputs raised


_current = Findings()


def begin() -> None:
    """Start recording for a new check (the grading plugin calls it before each check)."""
    global _current
    _current = Findings()


def take() -> Findings:
    """What the check recorded (the grading plugin calls it after each check)."""
    global _current
    found, _current = _current, Findings()
    return found


def observe(got: Sequence[Any], *, exact: Sequence[Any], allowed: Sequence[Any],
            compute: Callable[[dict], Sequence[Any]], bank: Sequence[Any],
            loose: Callable[[], Sequence[Any]] | None = None,
            again: Callable[[], Sequence[Any]] | None = None,
            calm: Callable[[], Sequence[Any]] | None = None, held: bool = False) -> Observation:
    """Record one answer of the submission (values ``got``; ``exact`` the right ones, ``allowed`` the
    check's tolerance). A wrong answer is kept only on the final example; right ones, a few per check.

    ``again`` asks the submission the same question once more (on a wrong final answer only): an
    answer that changes is recorded as randomness (dropout left on), which no mistake explains.
    ``calm`` then asks it with dropout held off (twice): where both calm answers agree, that answer is
    recorded too, so that a mistake behind the dropout can still be named. ``held``: ``got`` itself is
    such an answer (to a richer input, asked calmly because the check's example was).
    """
    got = tuple(got)
    wrong = any(not compare.matches(g, e, a) for g, e, a in zip(got, exact, allowed))
    steady = False
    if wrong and again is not None and _final():
        try:
            second = tuple(again())
        except Exception:  # the submission failed to answer twice: nothing to compare
            second = None
        if second is not None:
            steady = _same(second, got, allowed)
            if not steady:
                observe_nondeterministic()
            if calm is not None and _observe_calm(calm, got=None if steady else got, exact=exact, allowed=allowed,
                                                  compute=compute, bank=bank, loose=loose):
                steady = False  # the same twice, but not what the code gives without dropout: dropout kept it
    size = sum(g.numel() if isinstance(g, torch.Tensor) else int(getattr(g, "size", 0)) for g in got)
    obs = Observation(got=got, compute=compute, allowed=tuple(allowed), wrong=wrong, bank=tuple(bank),
                      loose=loose, size=size, steady=steady, calm=held)
    if wrong:
        if _final():
            _current.observations.append(obs)
    else:
        right = [o for o in _current.observations if not o.wrong]
        if len(right) < RIGHT_KEPT:
            _current.observations.append(obs)
        else:
            smallest = min(right, key=lambda o: o.size)
            if smallest.size < obs.size:
                _current.observations[_current.observations.index(smallest)] = obs
    return obs


def _same(first: Sequence[Any], second: Sequence[Any], allowed: Sequence[Any]) -> bool:
    return len(first) == len(second) and all(compare.matches(a, b, t) for a, b, t in zip(first, second, allowed))


def _observe_calm(calm: Callable[[], Sequence[Any]], *, got: Sequence[Any] | None, **known: Any) -> bool:
    """Ask with dropout held off; where the answer differs from ``got`` (an answer given the same way
    twice; None for one that changed) and is given the same way twice, record it as a ``calm``
    observation. Whether one was recorded (an answer the same twice was still dropout's)."""
    allowed = known["allowed"]
    try:
        first = tuple(calm())
        if got is not None and _same(first, got, allowed):  # no dropout here: the answer stands as given
            return False
        second = tuple(calm())
    except Exception:  # the submission cannot answer that way: nothing more to learn
        return False
    if not _same(first, second, allowed):  # random in another way than dropout
        return False
    _current.held = True
    observe(first, **known, held=True)
    return True


def observe_error(error: Any) -> None:
    """Record the known mistake behind an error (a StudentException) that a richer input raised, where one is
    known: a check whose example was random never reached the inputs that raise it."""
    frames = getattr(error, "frames", ())
    text = for_error(getattr(error, "message", "") or str(error), frames[-1].source if frames else None)
    if text and text not in _current.errors:
        _current.errors.append(text)


def held_still() -> bool:
    """Whether this check recorded an answer with dropout held off: ask richer inputs that way too."""
    return _current.held


def usable(obs: Observation, random: bool) -> bool:
    """Whether an observation can be matched against mistakes: any, unless the submission is random; then
    only its calm answers and its wrong ones that were the same twice and the same with dropout held off
    (a right answer may be dropout's too: a weight dropped where a mistake gave it, the zero the contract
    asks for)."""
    return not random or obs.calm or (obs.wrong and obs.steady)


def _final() -> bool:
    from grader.kit.steps import final_example  # steps imports this module
    return final_example()


def observe_nondeterministic() -> None:
    """Record that the submission answered the same input two different ways."""
    _current.nondeterministic = True


def explain(observations: Sequence[Observation], *, max_size: int = MAX_COMBINATION) -> list[tuple]:
    """The smallest combinations of known mistakes (one, else two) that reproduce every observation.

    Returns [] when there is no wrong observation or nothing reproduces them all; several
    combinations when the inputs cannot tell them apart.
    """
    wrong = [o for o in observations if o.wrong]
    if not wrong:
        return []
    right = [o for o in observations if not o.wrong]
    pool: list = []
    for obs in wrong:
        pool += [m for m in obs.bank if not any(m is p for p in pool)]
    for size in range(1, max_size + 1):
        found = [combo for combo in itertools.combinations(pool, size)
                 if all(o.reproduced_by(combo) for o in wrong) and all(o.reproduced_by(combo) for o in right)]
        if found:
            return found
    return []


def explain_check(wrong: Sequence[Observation], right: Sequence[Observation]) -> list[tuple]:
    """What explains one check's ``wrong`` answers together with every ``right`` one; failing that (code
    with more mistakes than a pair, which its richer probes all show), what explains the example the check
    shows, its first wrong answer, with every right one."""
    return explain([*wrong, *right]) or explain([*wrong[:1], *right])


def with_randomness(text: str | None, hint: str | None, ids: tuple) -> tuple[str, str, tuple]:
    """(diagnosis, what to try next, mistake ids) for a failed check of a submission that is random:
    randomness first, then the mistakes found where randomness was held still (``text``, ``hint``,
    ``ids``, or None when none was)."""
    if not text:
        return MSG_NONDETERMINISTIC, HINT_NONDETERMINISTIC, ("nondeterministic",)
    return (MSG_RANDOM_AND.format(first=MSG_NONDETERMINISTIC, second=text),
            f"{HINT_NONDETERMINISTIC} {hint}" if hint else HINT_NONDETERMINISTIC, ("nondeterministic", *ids))


def part_shown(combination: tuple, wrong: Sequence[Observation]) -> tuple:
    """The smallest part of ``combination`` that reproduces the ``wrong`` answers of one check (with two
    mistakes in a file, a check without a mask shows only the one that is not about masks)."""
    for size in range(1, len(combination)):
        for part in itertools.combinations(combination, size):
            if wrong and all(o.reproduced_by(part) for o in wrong):
                return part
    return combination


def describe_combinations(found: Sequence[tuple]) -> tuple[str | None, str | None]:
    """(diagnosis, what to try next) for the combinations ``explain`` returned."""
    if not found:
        return None, None
    texts, hints = [], []
    for combo in found:
        messages = list(dict.fromkeys(m.message for m in combo))  # one mistake made in two functions
        if len(messages) == 1:
            texts.append(messages[0])
        else:
            texts.append(MSG_PAIR.format(first=messages[0], second=messages[1]))
        hints.append(" ".join(dict.fromkeys(m.fix for m in combo)))
    if len(set(texts)) == 1:  # the same mistake, made in one function or another: one name
        return texts[0], hints[0]
    return MSG_AMBIGUOUS.format(messages=" Or: ".join(dict.fromkeys(texts))), None


# -- mistakes named from the error a submission raised ------------------------------

_HALF_NAMES = {"Half": ("float16", 65504.0), "BFloat16": ("bfloat16", 3.39e38)}

# (pattern in the exception's message, what the student is told); the first match wins.
ERROR_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are available"
                r"|CUDA driver initialization failed"),
     "Your code puts a tensor on the GPU by name ('cuda', .cuda()), and there is no GPU here. Create "
     "tensors on the inputs' device instead (device=query.device, torch.zeros_like(x), x.new_zeros(...)), "
     "so your code runs wherever it is called."),
    (re.compile(r"Expected all tensors to be on the same device"),
     "Your code mixes devices: a tensor you create is on another device than the inputs. Create new "
     "tensors with device=x.device (or torch.zeros_like / x.new_zeros)."),
    (re.compile(r"value cannot be converted to type (?:c10::|at::)?(\w+) without overflow"),
     "A constant you fill with does not fit in {dtype} (its largest magnitude is about {largest:g}): fill "
     "with float('-inf'), or torch.finfo(x.dtype).min, not a constant such as -1e9."),
    (re.compile(r"Got unsupported ScalarType BFloat16"),
     "Your code turns a bfloat16 tensor into NumPy (.numpy(), np.finfo, a NumPy constant made from it), and "
     "NumPy has no bfloat16. Stay in torch: torch.finfo(x.dtype).min, x.new_full(...), torch.where."),
    (re.compile(r"must be sorted in decreasing order when `enforce_sorted` is True"),
     "pack_padded_sequence needs the batch sorted by length, longest first, unless told otherwise: the grader's "
     "batches are in any order. Pass enforce_sorted=False (it sorts and unsorts for you)."),
    (re.compile(r"masked_fill_? only supports boolean masks"),
     "The mask you fill with is not boolean (mask & 0, mask * x or mask.long() make an integer tensor): "
     "masked_fill needs a boolean mask. Use the boolean mask as given, e.g. scores.masked_fill(~mask, "
     "float('-inf'))."),
    (re.compile(r"expected (?:m1 and m2|mat1 and mat2) to have the same dtype|expected scalar type \w+ but found"),
     "Your code mixes dtypes: a tensor you create has a different dtype from the inputs (float32 next to "
     "float64, say). Create new tensors with dtype=x.dtype (or torch.zeros_like / x.new_zeros)."),
)


# (pattern in the message, pattern in the source line that raised, what the student is told)
SOURCE_PATTERNS: tuple[tuple[re.Pattern, re.Pattern, str], ...] = (
    (re.compile(r"'NoneType' object has no attribute|bad operand type for unary ~: 'NoneType'"
                r"|unsupported operand type\(s\) for .*'NoneType'|'NoneType' object is not subscriptable"),
     re.compile(r"mask"),
     "Your code assumes a mask is always given: called with mask=None (no mask, as in plain self- or "
     "cross-attention) it fails on the masking line. Apply the mask only `if mask is not None`."),
    (re.compile(r"too many indices for tensor of dimension|The size of tensor a \(\d+\) must match the size of "
                r"tensor b|shape mismatch|Dimension out of range|doesn't match the broadcast shape"
                r"|The expanded size of the tensor|must match the existing size|is invalid for input of size"),
     re.compile(r"mask"),
     "Your masking line assumes one shape of mask. Masks only need to broadcast to the scores: a causal "
     "(Lq, Lk) mask and a (B, 1, 1, Lk) padding mask must both work. Use the mask as given, e.g. "
     "scores.masked_fill(~mask, float('-inf')), which broadcasts, instead of indexing or reshaping it."),
    (re.compile(r"Dimension out of range \(expected to be in range of \[-?\d+, -?\d+\], but got (\d+)\)"),
     re.compile(r"dim\s*=\s*\d|\.(?:max|sum|amax|softmax)\(\d"),
     "The softmax was taken along dimension {0} whatever dim is (a fixed dim={0} in your code), and this input "
     "has no dimension {0}: pass dim to your max and sum (with keepdim=True)."),
    (re.compile(r"is invalid for input of size"),
     re.compile(r"(?:key|value|\bk|\bv)\w*\s*(?:=.*)?\.(?:view|reshape)\("),
     "Your keys or values are reshaped with sizes that are not their own (the query's length, say): in "
     "cross-attention the keys' length Lk differs from Lq. Take each tensor's own sizes: B, Lk, _ = key.shape."),
    (re.compile(r"matmul: Input operand \d+ has a mismatch in its core dimension|shapes \([\d, ]*\) and "
                r"\([\d, ]*\) not aligned"),
     re.compile(r"\.T\b"),
     "key.T reverses every axis of a batched array, so the batch axes no longer line up: transpose only "
     "the last two, np.swapaxes(key, -1, -2) (and use @, which broadcasts over batch axes, not np.dot)."),
)


def for_error(message: str, source: str | None = None) -> str | None:
    """The known mistake behind an exception's ``message`` (raised on the line ``source``), or None."""
    on_device = device_errors.for_error(message, source)
    if on_device is not None:   # a mistake only a GPU shows, in the student's words
        return on_device
    for pattern, line, text in SOURCE_PATTERNS:
        match = pattern.search(message) if source and line.search(source) else None
        if match:
            return text.format(*match.groups())
    for pattern, text in ERROR_PATTERNS:
        match = pattern.search(message)
        if match:
            dtype, largest = _HALF_NAMES.get(match.group(1), (match.group(1), 0.0)) if match.groups() \
                else ("", 0.0)
            return text.format(dtype=dtype, largest=largest)
    return None
