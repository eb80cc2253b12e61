"""Known mistakes, implemented on purpose, so the grader can name the one a student made.

Each exercise's module lists ``MISTAKES``: an id, the plain-words message a student
sees, and how to compute that mistake's output from the same inputs. The
grader compares a wrong answer with each (``grader.diagnose``) and reports a
diagnosis only on an exact match within tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its id, what the student is told, and the switches that make it."""

    id: str
    message: str
    switches: dict = field(default_factory=dict)
