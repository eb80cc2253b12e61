"""HTML reports: a view model made in Python, rendered by Jinja2 templates beside this module.

Templates hold only loops and ifs; everything from a submission is escaped by
Jinja2's autoescaping. Reports are single self-contained files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from grader import compare, results

TEMPLATES = Path(__file__).with_name("templates")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _points(value: float) -> str:
    return f"{value:g}"


def check_view(check: results.CheckResult) -> dict[str, Any]:
    return {
        "id": check.check_id,
        "title": check.title,
        "passed": check.passed,
        "status": "Passed" if check.passed else "Failed",
        "points": _points(check.points),
        "max_points": _points(check.max_points),
        "summary": check.summary,
        "diagnosis": check.diagnosis,
        "details": check.details or (compare.format_mismatch(check.mismatch) if check.mismatch else ""),
        "example": check.example,
        "hint": check.hint,
        "traceback": [{"line": f.line, "function": f.function, "source": f.source} for f in check.traceback],
        "group": check.group,
    }


def student_view(result: results.GradeResult) -> dict[str, Any]:
    percent = 100.0 * result.score / result.max_score if result.max_score else 0.0
    return {
        "exercise": result.exercise,
        "title": result.title,
        "submission": result.submission,
        "score": _points(result.score),
        "max_score": _points(result.max_score),
        "percent": round(percent, 1),
        "started_at": result.started_at,
        "seed": result.seed,
        "devices": ", ".join(result.devices),
        "isolation": result.isolation,
        "versions": sorted(result.versions.items()),
        "command": result.command,
        "load_error": result.load_error,
        "checks": [check_view(c) for c in result.failures_first()],
        "student_output": result.student_output,
    }


def render_student(result: results.GradeResult) -> str:
    return _ENV.get_template("student.html.j2").render(view=student_view(result))


def write_student_report(result: results.GradeResult, report_dir: Path) -> Path:
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"{result.exercise}.html"
    path.write_text(render_student(result), encoding="utf-8")
    return path
