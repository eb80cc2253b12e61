"""What an exercise declares: its metadata and limits (``exercise.toml``), stub and checks.

Plain data, no torch: the first stage of the pipeline, imported by every later one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

METADATA = "exercise.toml"
CHECKS = "checks"
SOLUTION = "solution.py"
FRAMEWORKS = ("torch", "numpy")


@dataclass(frozen=True)
class Limits:
    """What one submission may use (``[limits]`` of exercise.toml)."""

    call_seconds: float = 10.0     # wall clock for one call into the submission
    call_cpu_seconds: float = 3.0  # CPU time of the child for one call: a busy loop ends here, whatever the load
    total_seconds: float = 120.0   # wall clock for the whole submission
    memory_mib: int = 3072         # address space of the child
    cpu_seconds: int = 120         # CPU time of the child
    file_mib: int = 64             # largest file the child may write
    output_kib: int = 1024         # printed output kept for the report

    @property
    def flood_bytes(self) -> int:
        """Printed output beyond which the child is stopped."""
        return max(8 << 20, 8 * (self.output_kib << 10))


class ExerciseError(ValueError):
    """The folder is not a gradable exercise (message says why and what to do)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    framework: str
    summary: str
    root: Path
    limits: Limits
    banned: tuple[str, ...]

    @property
    def solution(self) -> Path:
        return self.root / SOLUTION

    @property
    def checks_dir(self) -> Path:
        return self.root / CHECKS


def load_exercise(path: str | Path) -> Exercise:
    root = Path(path).resolve()
    if not root.exists():
        raise ExerciseError(f"{path}: no such folder.")
    if not root.is_dir():
        raise ExerciseError(f"{path}: not a folder; give the exercise folder, e.g. exercises/02_multihead.")
    meta_path = root / METADATA
    if not meta_path.is_file():
        raise ExerciseError(f"{path}: not an exercise (it has no {METADATA}); "
                            "give a folder under exercises/, e.g. exercises/02_multihead.")
    try:
        meta = tomllib.loads(meta_path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ExerciseError(f"{meta_path}: invalid TOML: {error}") from None
    info = meta.get("exercise", {})
    framework = info.get("framework", "torch")
    if framework not in FRAMEWORKS:
        raise ExerciseError(f"{meta_path}: framework must be one of {FRAMEWORKS}, not {framework!r}.")
    raw_limits = meta.get("limits", {})
    known = set(Limits.__dataclass_fields__)
    unknown = set(raw_limits) - known
    if unknown:
        raise ExerciseError(f"{meta_path}: unknown limits {sorted(unknown)}; known: {sorted(known)}.")
    if not (root / CHECKS).is_dir():
        raise ExerciseError(f"{path}: the exercise has no {CHECKS}/ folder of checks.")
    return Exercise(
        id=str(info.get("id", root.name)),
        title=str(info.get("title", root.name)),
        framework=framework,
        summary=str(info.get("summary", "")),
        root=root,
        limits=Limits(**raw_limits),
        banned=tuple(meta.get("banned", {}).get("calls", ())),
    )
