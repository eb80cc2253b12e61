"""The student handout (``grade handout EXERCISE_DIR... -o DIR``): what an instructor gives students.

For each exercise: its README, stub and exercise.toml, and as its ``checks/`` the public
checks of the exercise's ``handout/`` folder, whose oracles are PyTorch's own functions or
recorded input/expected pairs (``handout/record.py`` makes them here, from the course's
model; the handout gets only the numbers, ``checks/recorded.pt``). Beside them, a wheel of
the grader with no reference solution, no mistakes bank and no exercises (``wheels/``), and
a README that says how to install it and grade. Never in it: the reference solutions, the
exercise's own checks, hidden checks, ``record.py``.

Before it is written out, each exercise of the handout is graded here with its public
checks: the stub must get 0 (a filled-in solution.py is refused, it would hand out the
answer), and no check may be hidden.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import wheel
from grader.spec import CHECKS, METADATA, SOLUTION, Exercise

HANDOUT = "handout"      # the exercise's folder of public checks for the handout
RECORDER = "record.py"   # makes recorded.pt (run by the instructor, never shipped)
RECORDED = "recorded.pt"
KEPT = ("README.md", METADATA, SOLUTION)

README = """# {title}

Exercises on attention, graded on your own machine. Each folder under `exercises/`
has a README (the task), `solution.py` (the stub you fill in) and `checks/` (the
public checks `grade` runs against your solution).

## Set up (Python 3.11 or newer)

```bash
python -m venv .venv && . .venv/bin/activate
pip install torch --index-url https://download.pytorch.org/whl/cpu
pip install wheels/{wheel}
```

## Work on an exercise

```bash
grade exercises/{first}
```

Edit `exercises/{first}/solution.py` and grade again (`--watch` grades on every save).
The terminal shows each check; `reports/{first}.html` explains what failed.
`grade list` lists the exercises with your last score.

These are the public checks. Your instructor's final grading may run more checks
(and other inputs) on the same contract: follow the README, not only the checks.

Exercises: {exercises}
"""


class HandoutError(ValueError):
    """The handout cannot be made as asked; the message says why and what to do."""


@dataclass
class Handout:
    root: Path
    exercises: list[str] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    wheel: Path | None = None

    def lines(self) -> list[str]:
        out = [f"{exercise}: {self.checks.get(exercise, 0)} public checks" for exercise in self.exercises]
        out.append(f"grader without the answers: {self.wheel.relative_to(self.root)}" if self.wheel else "")
        out.append(f"Wrote the handout to {self.root}: give students this folder (its README says how to start).")
        return [line for line in out if line]


def public_checks(exercise: Exercise) -> list[Path]:
    folder = exercise.root / HANDOUT
    found = sorted(folder.glob("test_*.py")) if folder.is_dir() else []
    if not found:
        raise HandoutError(f"{exercise.id}: no public checks for a handout ({HANDOUT}/test_*.py in the exercise, "
                           "written with grader.kit and an oracle that is not the reference).")
    return found


def _record(exercise: Exercise, target: Path) -> None:
    recorder = exercise.root / HANDOUT / RECORDER
    if not recorder.is_file():
        return
    import torch

    spec = importlib.util.spec_from_file_location(f"_handout_record_{exercise.id}", recorder)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.save(module.record(), target / RECORDED)


def _copy_exercise(exercise: Exercise, target: Path) -> None:
    target.mkdir(parents=True)
    for name in KEPT:
        if (exercise.root / name).is_file():
            shutil.copy2(exercise.root / name, target / name)
    checks = target / CHECKS
    checks.mkdir()
    for path in public_checks(exercise):
        shutil.copy2(path, checks / path.name)
    _record(exercise, checks)


def _verify(exercise_dir: Path, handout: Handout) -> None:
    """Grade the handout's stub with its public checks: 0 points, nothing hidden, no check broken."""
    from grader import results
    from grader.run import session
    from grader.spec import load_exercise

    copy = load_exercise(exercise_dir)
    result = session.grade_submission(exercise=copy)
    broken = [c.check_id for c in result.checks if c.kind == results.KIND_INTERNAL]
    if broken:
        raise HandoutError(f"{copy.id}: public checks break on the stub ({', '.join(broken)}): fix them first.")
    if any(c.hidden for c in result.checks):
        raise HandoutError(f"{copy.id}: a public check of the handout is marked hidden; hidden checks never go "
                           "into a handout.")
    if result.score > 0:
        raise HandoutError(f"{copy.id}: its solution.py is not the stub (it scores {result.score:g}/"
                           f"{result.max_score:g} on the public checks); restore the stub so the handout does not "
                           "give the answer away.")
    handout.checks[copy.id] = len(result.checks)


def write_handout(*, exercises: list[Exercise], output: Path, title: str = "Attention exercises",
                  progress=None) -> Handout:
    output = Path(output)
    handout = Handout(root=output)
    for exercise in exercises:
        public_checks(exercise)  # refuse before writing anything
    staging = output.with_name(output.name + ".part")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        for exercise in exercises:
            _copy_exercise(exercise, staging / "exercises" / exercise.root.name)
        built = wheel.build(staging / "wheels", kind="student")
        first = exercises[0].root.name
        (staging / "README.md").write_text(README.format(
            title=title, wheel=built.name, first=first,
            exercises=", ".join(e.root.name for e in exercises)), encoding="utf-8")
        if output.exists():
            output.rmdir()  # checked empty by the caller
        staging.rename(output)
        # Graded where it stays: a check that reads a file beside it (recorded.pt) finds it there.
        for exercise in exercises:
            if progress:
                progress(f"Grading {exercise.id}'s stub with its public checks...")
            _verify(output / "exercises" / exercise.root.name, handout)
            handout.exercises.append(exercise.id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(output, ignore_errors=True)
        raise
    handout.wheel = output / "wheels" / built.name
    return handout
