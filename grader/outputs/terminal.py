"""The terminal summary of a GradeResult: each check, its points, pass/fail, one line of why."""

from __future__ import annotations

from grader import results

MARK = {results.PASSED: "PASS", results.FAILED: "FAIL"}


def _fmt(points: float) -> str:
    return f"{points:g}"


def summary_lines(result: results.GradeResult, *, report_path: str | None = None) -> list[str]:
    lines = [f"{result.exercise}: {result.title}  ({result.submission})"]
    if len(result.devices) > 1:
        lines.append(f"  On {' and '.join(result.devices)}: each check runs on each, for an even share of its points "
                     f"([{result.devices[-1]}] after a title says where).")
    if result.load_error:
        lines.append(f"  Could not load the submission: {result.load_error}")
    width = max((len(c.title) for c in result.checks), default=10)
    width = min(width, 72)
    for check in result.checks:
        points = f"{_fmt(check.points)}/{_fmt(check.max_points)}"
        line = f"  {MARK[check.status]}  {points:>7}  {check.title[:width]:<{width}}"
        if not check.passed:
            why = check.summary.split("\n")[0]
            if check.diagnosis:
                why = f"{why} {check.diagnosis}"
            line += f"  {why[:160]}"
        lines.append(line.rstrip())
    failed = sum(not c.passed for c in result.checks)
    tail = f"Score: {_fmt(result.score)}/{_fmt(result.max_score)}"
    tail += "  (all checks passed)" if failed == 0 else f"  ({failed} of {len(result.checks)} checks failed)"
    lines.append(tail)
    if report_path:
        lines.append(f"Report: {report_path}")
    return lines


def summary(result: results.GradeResult, *, report_path: str | None = None) -> str:
    return "\n".join(summary_lines(result, report_path=report_path))
