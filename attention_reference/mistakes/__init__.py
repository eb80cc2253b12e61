"""Known mistakes, implemented on purpose, so the grader can name the one a student made.

Each exercise's module lists ``MISTAKES``: an id, the plain-words message a student
sees, what to try next, and how to compute that mistake's output from the same inputs
(switches of the module's ``compute``). The grader (``grader.kit.diagnose``) looks for
the mistake, or the pair of mistakes, whose outputs equal the submission's on every
input it answered, and names it only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)
class Mistake:
    """One known mistake: its id, what the student is told, and the switches that make it.

    ``hint`` is what to try next (by default the part of ``message`` after its first colon).
    ``precision`` names a dtype ("float32") when the mistake is computing in that dtype: its
    output is the right one, only as accurate as that dtype allows. ``small``: the mistake is
    small by nature (an epsilon added to a sum), matched as exactly as any other but nearer the
    right answer than most (tests hold it to its own bound). Mistakes compare by identity (two
    modules may each have a ``no_max`` of their own function).
    """

    id: str
    message: str
    switches: dict = field(default_factory=dict)
    hint: str | None = None
    precision: str | None = None
    small: bool = False

    @property
    def fix(self) -> str:
        """What to try next, as one sentence."""
        if self.hint:
            return self.hint
        _, colon, rest = self.message.partition(": ")
        rest = rest.strip()
        return rest[:1].upper() + rest[1:] if colon and rest else self.message
