"""The Gradescope ``results.json`` of a GradeResult.

Schema (Gradescope's autograder specification): top-level ``score``, ``max_score``,
``execution_time`` (seconds), ``output`` (the summary, shown above the tests),
``output_format``, ``test_output_format``, ``visibility``, ``stdout_visibility`` and
``tests``; each test has ``name``, ``number``, ``score``, ``max_score``, ``status``
("passed" or "failed"), ``output`` (the feedback, in Markdown), ``tags`` (the check's
group) and ``visibility``.

Hidden checks are listed with ``"visibility": "hidden"`` (only course staff see them on
Gradescope), and each category of them is also one visible test that gives only its
count ("2 of 3 hidden masking checks failed."), as every student's view does. The
top-level ``score`` is given, so those summary lines are not counted twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader import results

FORMAT = "md"
FENCE = "```"


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


def _block(text: str) -> str:
    """``text`` in a Markdown code block that nothing inside it can close."""
    fence = FENCE
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def markdown_output(check: results.CheckResult) -> str:
    """The feedback of one check in Markdown: the verdict as prose, the evidence in code blocks."""
    if check.passed:
        return "Passed." if not check.summary else f"Passed. {check.summary}"
    parts = [_plain(check.summary)]
    if check.diagnosis:
        parts.append(f"**Likely mistake:** {_plain(check.diagnosis)}")
    if check.details:
        parts.append(_block(check.details))
    if check.mismatch is not None:
        parts.append(_block(results.format_mismatch(check.mismatch)))
    if check.example:
        parts.append("Smallest failing input:\n\n" + _block(check.example))
    if check.traceback:
        parts.append("Where your code raised:\n\n" + _block("\n".join(
            f"line {f.line}, in {f.function}: {f.source}" for f in check.traceback[-3:])))
    if check.hint:
        parts.append(f"**Hint:** {_plain(check.hint)}")
    return "\n\n".join(p for p in parts if p)


def _plain(text: str) -> str:
    """Student-derived prose made inert in Markdown (no HTML, links or emphasis of its own)."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#!|~" else ch for ch in text)


def summary_output(result: results.GradeResult) -> str:
    """The top-level summary: the score, what failed, and hidden checks by count only."""
    view = results.student_view(result)
    failed = [c for c in view.checks if not c.passed]
    head = f"**Score: {view.score:g}/{view.max_score:g}**" + (
        " (every check passed)" if not failed else f" ({len(failed)} of {len(view.checks)} checks failed)")
    parts = [head]
    if result.load_error:
        parts.append(f"Your file could not be loaded: {_plain(result.load_error)}")
    if failed:
        parts.append("\n".join(f"- {_plain(c.title)}: {_plain((c.summary or '').splitlines()[0] if c.summary else '')}"
                               for c in failed))
    return "\n\n".join(parts)


def _test(check: results.CheckResult, number: str, *, visibility: str) -> dict[str, Any]:
    return {
        "name": check.title,
        "number": number,
        "score": check.points,
        "max_score": check.max_points,
        "status": check.status,
        "output": markdown_output(check),
        "output_format": FORMAT,
        "tags": [check.category or check.group],
        "visibility": visibility,
    }


def to_results_json(result: results.GradeResult) -> dict[str, Any]:
    view = results.student_view(result)
    visible = [c for c in view.checks]
    tests = [_test(check, str(n), visibility="visible") for n, check in enumerate(visible, start=1)]
    hidden = [c for c in result.checks if c.hidden]
    for n, check in enumerate(hidden, start=1):
        test = _test(check, f"H{n}", visibility="hidden")
        test["extra_data"] = {"check_id": check.check_id, "counted_in": results.HIDDEN_TITLE.format(
            category=check.category or check.group)}
        tests.append(test)
    return {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": round(result.duration),
        "output": summary_output(result),
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def not_graded_json(sentence: str, *, max_score: float | None = None, execution_time: float = 0.0) -> dict[str, Any]:
    """What a submission that could not be graded gets: 0 points and one sentence saying why."""
    data: dict[str, Any] = {"score": 0.0, "execution_time": round(execution_time), "output": sentence,
                            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
                            "tests": []}
    if max_score is not None:
        data["max_score"] = max_score
    return data


def write_json(data: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def write_results_json(result: results.GradeResult, path: Path) -> Path:
    return write_json(to_results_json(result), path)
