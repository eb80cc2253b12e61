"""The Gradescope ``results.json`` of a GradeResult.

Schema: top-level ``score``, ``max_score`` and ``tests``; each test has ``name``,
``score``, ``max_score``, ``status`` ("passed" or "failed") and ``output``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader import results


def check_output(check: results.CheckResult) -> str:
    """The feedback text of one check, as plain text."""
    if check.passed:
        return "Passed."
    parts = [check.summary]
    if check.diagnosis:
        parts.append(f"Likely mistake: {check.diagnosis}")
    if check.details:
        parts.append(check.details)
    if check.mismatch is not None:
        parts.append(results.format_mismatch(check.mismatch))
    if check.example:
        parts.append(check.example)
    for frame in check.traceback[-3:]:
        parts.append(f"  line {frame.line}, in {frame.function}: {frame.source}")
    if check.hint:
        parts.append(f"Hint: {check.hint}")
    return "\n".join(p for p in parts if p)


def to_results_json(result: results.GradeResult) -> dict[str, Any]:
    return {
        "score": result.score,
        "max_score": result.max_score,
        "tests": [
            {
                "name": check.title,
                "score": check.points,
                "max_score": check.max_points,
                "status": check.status,
                "output": check_output(check),
            }
            for check in result.checks
        ],
    }


def write_results_json(result: results.GradeResult, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_results_json(result), indent=2) + "\n")
    return path
