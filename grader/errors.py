"""Exceptions that carry a check's verdict from where it is found to the results model.

``StudentError`` and its subclasses mean the submission could not answer (it raised,
was missing something, hung, crashed). ``CheckFailure`` means it answered and the
answer was wrong. Both carry the fields a ``CheckResult`` needs.
"""

from __future__ import annotations

from grader import results


class StudentError(Exception):
    """The submission failed to produce an answer."""

    kind = results.KIND_STUDENT_ERROR
    hint: str | None = None
    diagnosis: str | None = None  # a check may name the known mistake behind the error

    def __init__(self, summary: str, *, details: str = "", frames: tuple = (), hint: str | None = None):
        super().__init__(summary)
        self.summary = summary
        self.details = details
        self.frames = tuple(frames)
        if hint is not None:
            self.hint = hint


class SubmissionLoadError(StudentError):
    kind = results.KIND_LOAD_ERROR
    hint = "Run `python path/to/solution.py` yourself: it must import without errors."


class NotImplementedByStudent(StudentError):
    kind = results.KIND_NOT_IMPLEMENTED
    hint = "Replace the `raise NotImplementedError(...)` line with your implementation."


class MissingName(StudentError):
    kind = results.KIND_MISSING
    hint = "Keep the names and signatures of the stub exactly: the grader calls them by name."


class StudentException(StudentError):
    """The submission raised an exception while being called."""

    type_name = ""  # the exception's class name, e.g. "ValueError"
    message = ""    # the exception's message, as the submission raised it


class SandboxFailure(StudentError):
    """Timeout, crash, memory or output limit, or an early exit."""

    kind = results.KIND_SANDBOX
    timed_out = False  # True when the call ran past its time limit


class Timeout(SandboxFailure):
    """The call ran past its wall-clock limit and the child was killed."""

    timed_out = True


class WrongType(StudentError):
    """The submission returned something that is not what the contract says."""

    kind = results.KIND_WRONG_TYPE
    hint = "Check what your function returns: the types and the number of values."


class CheckFailure(AssertionError):
    """The submission answered, and the answer was wrong."""

    def __init__(self, summary: str, *, details: str = "", diagnosis: str | None = None,
                 hint: str | None = None, mismatch: results.Mismatch | None = None,
                 figures: tuple[results.Heatmap, ...] = (), kind: str = results.KIND_WRONG):
        super().__init__(summary)
        self.summary = summary
        self.details = details
        self.diagnosis = diagnosis
        self.hint = hint
        self.mismatch = mismatch
        self.figures = tuple(figures)
        self.kind = kind
