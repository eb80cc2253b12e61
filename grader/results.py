"""The results model: one set of frozen dataclasses that every output is made from.

The terminal summary, the Gradescope ``results.json``, the CSV gradebook and the
HTML reports are each a small function of these objects. Nothing here computes a
verdict; checks produce ``CheckResult`` values and ``grading`` collects them.

Everything is plain data (numbers, strings, tuples) so a result can be written
to JSON and read back (``to_dict`` / ``from_dict``) by a batch run that resumes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"

# Why a check failed, coarsely: lets reports group and colour failures.
KIND_WRONG = "wrong"            # outputs compared and were wrong
KIND_NOT_IMPLEMENTED = "not_implemented"
KIND_STUDENT_ERROR = "student_error"  # the submission raised
KIND_WRONG_TYPE = "wrong_type"        # returned something the contract does not allow (a list, None, ...)
KIND_MISSING = "missing_name"         # a function or class the contract names is not defined
KIND_LOAD_ERROR = "load_error"        # solution.py could not be imported
KIND_SANDBOX = "sandbox"              # timeout, crash, memory, output flood
KIND_BANNED = "banned"
KIND_INTERNAL = "internal"            # a bug in a check: never the student's fault
KIND_HIDDEN = "hidden"                # hidden checks folded into one line of a student's view
KIND_NOT_GRADED = "not_graded"        # a class entry that could not be graded (no submission, ...)


@dataclass(frozen=True)
class Mismatch:
    """Where and by how much a tensor differs from the expected one."""

    name: str                      # "output", "weights", "grad of query", ...
    shape: tuple[int, ...]
    dtype: str
    device: str
    mismatched: int
    total: int
    max_abs: float
    max_abs_index: tuple[int, ...]
    max_rel: float
    max_rel_index: tuple[int, ...]
    allowed_abs: float             # tolerance at the max_abs index
    expected: tuple | None = None  # nested lists of small tensors, for display
    got: tuple | None = None


MSG_MISMATCHED = "Mismatched elements: {mismatched} / {total} ({percent:.1f}%)"
MSG_ABS = "Greatest absolute difference: {value:.3g} at index {index} (up to {allowed:.3g} allowed)"
MSG_REL = "Greatest relative difference: {value:.3g} at index {index}"


def format_mismatch(m: Mismatch) -> str:
    """The mismatch as text, in the shape of ``torch.testing.assert_close``'s message."""
    lines = [
        MSG_MISMATCHED.format(mismatched=m.mismatched, total=m.total,
                              percent=100.0 * m.mismatched / max(m.total, 1)),
        MSG_ABS.format(value=m.max_abs, index=m.max_abs_index, allowed=m.allowed_abs),
        MSG_REL.format(value=m.max_rel, index=m.max_rel_index),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Heatmap:
    """A small matrix to draw (attention weights, their difference)."""

    title: str
    rows: tuple[tuple[float, ...], ...]
    masked: tuple[tuple[bool, ...], ...] | None = None
    row_label: str = "query position"
    col_label: str = "key position"


@dataclass(frozen=True)
class Curve:
    """A series to draw as a line (a training loss, step by step)."""

    title: str
    values: tuple[float, ...]
    x_label: str = "training step"
    y_label: str = "loss"


@dataclass(frozen=True)
class StudentFrame:
    """One frame of a traceback inside the student's own file."""

    line: int
    function: str
    source: str


@dataclass(frozen=True)
class CheckResult:
    check_id: str                  # stable id: the pytest node name, e.g. "test_causal_mask"
    title: str                     # human title from the check's docstring
    points: float                  # earned
    max_points: float
    status: str                    # PASSED or FAILED
    summary: str = ""              # one line of why
    kind: str = ""                 # one of the KIND_* constants when failed
    details: str = ""              # longer explanation
    diagnosis: str | None = None   # the known mistake the output matched
    hint: str | None = None        # what to try next
    mismatch: Mismatch | None = None
    example: str | None = None     # the (shrunk) input it failed on
    traceback: tuple[StudentFrame, ...] = ()
    figures: tuple[Heatmap, ...] = ()
    curves: tuple[Curve, ...] = ()  # shown whether the check passed or not
    device: str = "cpu"
    duration: float = 0.0
    group: str = "correctness"     # "correctness" or "style" (vectorisation, ...)
    hidden: bool = False           # students see it only by category and count (see student_view)
    category: str = ""             # what a hidden check is counted as ("masking"); default: its group
    mistakes: tuple[str, ...] = ()  # ids of the known mistakes the diagnosis names (one, or a pair)
    advice: str | None = None      # a note on something the contract leaves open: never costs points

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass(frozen=True)
class GradeResult:
    exercise: str                  # "02_multihead"
    title: str
    submission: str                # path as given
    checks: tuple[CheckResult, ...]
    seed: int
    started_at: str                # ISO 8601, UTC
    duration: float
    isolation: str                 # "namespaces", "rlimits", ...
    command: str                   # a command that reproduces the run
    versions: dict[str, str] = field(default_factory=dict)
    devices: tuple[str, ...] = ("cpu",)
    student_output: str = ""       # what the submission printed (capped)
    load_error: str | None = None  # why solution.py could not be loaded, if so
    flags: tuple[str, ...] = ()    # for the instructor: what the grader could not rule out (one line each)
    seed_hidden: bool = False      # the seed is the instructor's (final grading): students never see it

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 6)

    @property
    def all_passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures_first(self) -> list[CheckResult]:
        return sorted(self.checks, key=lambda c: c.passed)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        data = dict(data)
        data.pop("score", None)
        data.pop("max_score", None)
        data["checks"] = tuple(_check_from_dict(c) for c in data["checks"])
        data["devices"] = tuple(data.get("devices", ("cpu",)))
        data["flags"] = tuple(data.get("flags", ()))
        return cls(**data)


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def _check_from_dict(data: dict[str, Any]) -> CheckResult:
    data = dict(data)
    if data.get("mismatch"):
        m = {k: _tuplify(v) for k, v in data["mismatch"].items()}
        data["mismatch"] = Mismatch(**m)
    data["traceback"] = tuple(StudentFrame(**f) for f in data.get("traceback", ()))
    data["figures"] = tuple(
        Heatmap(**{k: _tuplify(v) for k, v in f.items()}) for f in data.get("figures", ())
    )
    data["curves"] = tuple(Curve(**{k: _tuplify(v) for k, v in c.items()}) for c in data.get("curves", ()))
    data["mistakes"] = tuple(data.get("mistakes", ()))
    return CheckResult(**data)


@dataclass(frozen=True)
class StudentEntry:
    """One student's graded submission within a batch."""

    student: str                   # a name derived from the submission's path
    result: GradeResult
    report: str | None = None      # path of the student's HTML report, relative to the batch report
    identity: dict[str, str] = field(default_factory=dict)  # LMS identity: name, user_id, sis_id, email, ...
    problem: str | None = None     # why the entry could not be graded ("no submission", ...); None if graded
    source: str = ""               # the entry of the class it came from (a path inside SUBMISSIONS)


@dataclass(frozen=True)
class BatchResult:
    exercise: str
    title: str
    entries: tuple[StudentEntry, ...]
    started_at: str
    duration: float
    seed: int = 0
    seed_hidden: bool = False      # a final-grading seed: recorded here, never in a student's view
    warnings: tuple[str, ...] = ()  # about the class itself (ids that collided, ...), for the instructor
    skipped: tuple[str, ...] = ()   # things in SUBMISSIONS that are no student's entry (notes.txt, ...)
    layout: str = "plain"           # the layout SUBMISSIONS was in: plain, canvas, moodle, gradescope

    @property
    def max_score(self) -> float:
        return max((e.result.max_score for e in self.entries), default=0.0)

    @property
    def graded(self) -> tuple[StudentEntry, ...]:
        return tuple(e for e in self.entries if e.problem is None)

    @property
    def not_graded(self) -> tuple[StudentEntry, ...]:
        return tuple(e for e in self.entries if e.problem is not None)


# -- what a student may see of a result ---------------------------------------------

MSG_HIDDEN_FAILED = "{failed} of {total} hidden {category} check{s} failed."
MSG_HIDDEN_PASSED = "All {total} hidden {category} check{s} passed."
HIDDEN_TITLE = "Hidden checks: {category}"


def hidden_summary(checks: list[CheckResult] | tuple[CheckResult, ...], category: str) -> str:
    failed = sum(not c.passed for c in checks)
    template = MSG_HIDDEN_FAILED if failed else MSG_HIDDEN_PASSED
    return template.format(failed=failed, total=len(checks), category=category, s="" if len(checks) == 1 else "s")


def hidden_categories(checks) -> dict[str, list[CheckResult]]:
    """The hidden checks by category, in the order each category first appears."""
    folded: dict[str, list[CheckResult]] = {}
    for check in checks:
        if check.hidden:
            folded.setdefault(check.category or check.group, []).append(check)
    return folded


def student_view(result: GradeResult) -> GradeResult:
    """What a student may see of ``result``: each category of hidden checks folded into one line
    that gives only its count and points ("2 of 3 hidden masking checks failed."), never a title,
    input, expected value or diagnosis; and no seed when the seed is the instructor's."""
    folded = hidden_categories(result.checks)
    if not folded and not result.seed_hidden:
        return result
    checks = [c for c in result.checks if not c.hidden]
    for category, hidden in folded.items():
        failed = any(not c.passed for c in hidden)
        checks.append(CheckResult(
            check_id="hidden_" + "".join(ch if ch.isalnum() else "_" for ch in category),
            title=HIDDEN_TITLE.format(category=category),
            points=round(sum(c.points for c in hidden), 6), max_points=round(sum(c.max_points for c in hidden), 6),
            status=FAILED if failed else PASSED, summary=hidden_summary(hidden, category),
            kind=KIND_HIDDEN if failed else "", duration=round(sum(c.duration for c in hidden), 3),
            group=hidden[0].group, category=category))
    changes: dict[str, Any] = {"checks": tuple(checks)}
    if result.seed_hidden:
        changes["seed"] = 0
        changes["command"] = result.command.split(" --seed ")[0]  # the reproduce command ends with its seed
    return dataclasses.replace(result, **changes)
