"""HTML reports: view models made in Python, rendered by Jinja2 templates beside this module.

Two reports are made from the results model: a student report per GradeResult
(``render_student``) and an instructor's class summary per BatchResult
(``render_class``). Templates (``templates/``) hold only loops and ifs over the
dicts made here; pictures are inline SVG whose geometry comes from ``grader.outputs.svg``.
Everything from a submission is escaped by Jinja2's autoescaping. Each report is a
single self-contained file: no network, no external CSS, JS or fonts.
"""

from __future__ import annotations

import collections
import datetime
import re
import statistics
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from grader import results
from grader.outputs import svg

TEMPLATES = Path(__file__).with_name("templates")
MAX_OUTPUT = 10_000   # characters of the submission's printed output shown
MAX_DIAGNOSES = 10    # most common diagnoses listed in the class report
HUGE_RELATIVE = 1e12  # a relative difference this large means the expected value is (nearly) 0

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

KIND_LABELS = {
    results.KIND_WRONG: "Wrong values",
    results.KIND_NOT_IMPLEMENTED: "Not implemented yet",
    results.KIND_STUDENT_ERROR: "Your code raised an error",
    results.KIND_WRONG_TYPE: "Returned the wrong type",
    results.KIND_MISSING: "A name is missing",
    results.KIND_LOAD_ERROR: "Your file could not be loaded",
    results.KIND_SANDBOX: "Stopped by the sandbox",
    results.KIND_BANNED: "Used a forbidden function",
    results.KIND_INTERNAL: "Problem in the grader (not your fault)",
    results.KIND_HIDDEN: "Hidden checks failed",
    results.KIND_NOT_GRADED: "Not graded",
    "style": "Style",
}

DEFAULT_HINTS = {
    results.KIND_WRONG: "Compare your code with the formula in the README one stage at a time, "
                        "running it by hand on the smallest failing input shown above.",
    results.KIND_NOT_IMPLEMENTED: "Replace the `raise NotImplementedError(...)` line with your implementation.",
    results.KIND_STUDENT_ERROR: "Read the traceback from the last line up: it names the line of your file that "
                                "raised. Print the shapes of the tensors on that line for the failing input.",
    results.KIND_LOAD_ERROR: "Run `python solution.py` yourself: the file must import without errors "
                             "and without running any work at import time.",
    results.KIND_SANDBOX: "Your code ran too long, used too much memory or printed too much. Look for "
                          "infinite loops, very large tensors, or print() calls inside loops.",
    results.KIND_BANNED: "Write the computation yourself from basic tensor operations "
                         "(matmul, softmax, masked_fill) instead of a ready-made attention function.",
    results.KIND_INTERNAL: "This is a problem in the grader, not in your code. Tell your instructor and "
                           "include the command shown at the top of this report.",
    "style": "Process all batch items and heads at once with batched operations instead of Python loops.",
    results.KIND_HIDDEN: "Your instructor's hidden checks test the same contract as the README; make sure every "
                         "rule there holds (shapes, masks, dtypes, edge cases), not only the visible checks.",
    results.KIND_NOT_GRADED: "Submit exactly one .py file (your solution.py), under 1 MB.",
}
DEFAULT_HINT = "Re-read the exercise's README for this part, then test your code on a tiny input by hand."


# -- small formatting helpers ------------------------------------------------------

def _points(value: float) -> str:
    return f"{value:g}"


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _date(iso: str) -> str:
    """'2024-05-01T12:34:56+00:00' -> '2024-05-01 12:34 UTC'; anything else unchanged."""
    try:
        when = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return iso
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc)
        return when.strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")


def _anchor(text: str, index: int) -> str:
    return f"check-{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _number_format(*arrays: np.ndarray) -> str:
    """Four decimals when they show every value, else scientific: one format per table, so decimals align."""
    values = np.abs(np.concatenate([a.reshape(-1) for a in arrays]))
    values = values[np.isfinite(values) & (values != 0)]
    if values.size == 0 or (values.min() >= 1e-3 and values.max() < 1e5):
        return ".4f"
    return ".3e"


def _number(value: float, spec: str) -> str:
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "inf" if value > 0 else "\u2212inf"
    return format(value, spec).replace("-", "\u2212")


# -- the student report ------------------------------------------------------------

def mismatch_view(m: results.Mismatch) -> dict[str, Any]:
    """The mismatch figures as labelled rows, and expected vs got as aligned tables."""
    return {
        "name": m.name,
        "rows": [
            ("Tensor", f"{m.name}: shape {tuple(m.shape)}, dtype {m.dtype}, device {m.device}"),
            ("Mismatched elements", f"{m.mismatched} of {m.total} ({_percent(m.mismatched, m.total)}%)"),
            ("Greatest absolute difference",
             f"{m.max_abs:.3g} at index {tuple(m.max_abs_index)} (up to {m.allowed_abs:.3g} allowed there)"),
            ("Greatest relative difference", _relative(m)),
        ],
        "tables": tensor_tables(m),
        "allowed": f"{m.allowed_abs:.3g}",
    }


def _relative(m: results.Mismatch) -> str:
    if m.max_rel >= HUGE_RELATIVE:  # inf (or, from older results, a division by a tiny number)
        return f"not defined: the expected value is 0 at index {tuple(m.max_rel_index)}"
    return f"{m.max_rel:.3g} at index {tuple(m.max_rel_index)}"


def tensor_tables(m: results.Mismatch) -> list[dict[str, Any]]:
    """Expected and got, as one table per 2-D slice; cells further apart than allowed are marked."""
    if m.expected is None or m.got is None:
        return []
    try:
        expected = np.asarray(m.expected, dtype=np.float64)
        got = np.asarray(m.got, dtype=np.float64)
    except (TypeError, ValueError):
        return []
    if expected.shape != got.shape or expected.size == 0:
        return []
    if expected.ndim < 2:
        expected, got = expected.reshape(1, -1), got.reshape(1, -1)
        prefixes = [()]
        leading = False
    else:
        prefixes = list(np.ndindex(*expected.shape[:-2]))
        leading = expected.ndim > 2
    spec = _number_format(expected, got)
    tables = []
    for prefix in prefixes:
        e2, g2 = expected[prefix], got[prefix]
        rows = []
        for i in range(e2.shape[0]):
            cells = []
            for j in range(e2.shape[1]):
                e, g = float(e2[i, j]), float(g2[i, j])
                same = e == g or (np.isnan(e) and np.isnan(g))
                bad = not same and not abs(g - e) <= m.allowed_abs
                cells.append({"expected": _number(e, spec), "got": _number(g, spec), "bad": bad})
            rows.append({"index": i, "cells": cells})
        label = ("[" + ", ".join(str(k) for k in prefix) + ", :, :]") if leading else ""
        tables.append({"label": label, "columns": list(range(e2.shape[1])), "rows": rows})
    return tables


PAIR_PREFIX = "Two mistakes together give your numbers: "  # grader.kit.diagnose.MSG_PAIR's start
PAIR_SEPARATOR = " And: "


def short_diagnosis(text: str | None) -> str:
    """The first clause of a diagnosis, for the checks table ("Your scores are not divided by sqrt(d_k)");
    of each mistake, for two named together."""
    if not text:
        return ""
    if text.startswith(PAIR_PREFIX):
        return " + ".join(short_diagnosis(part) for part in text[len(PAIR_PREFIX):].split(PAIR_SEPARATOR))
    first = re.split(r"(?<=[a-z0-9)'])[.:;](?:\s|$)", text.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= 90 else first[:87].rstrip() + "\u2026"


def check_view(check: results.CheckResult, index: int = 0) -> dict[str, Any]:
    anchor = _anchor(check.check_id, index)
    figures = svg.figures_view(check.figures, uid=f"fig-{index}")
    return {
        "id": check.check_id,
        "anchor": anchor,
        "title": check.title,
        "passed": check.passed,
        "status": "Passed" if check.passed else "Failed",
        "points": _points(check.points),
        "max_points": _points(check.max_points),
        "kind": KIND_LABELS.get(check.kind, check.kind.replace("_", " ").capitalize()) if not check.passed else "",
        "summary": check.summary,
        "diagnosis": check.diagnosis,
        "diagnosis_short": short_diagnosis(check.diagnosis) if not check.passed else "",
        "advice": check.advice,
        "details": check.details,
        "mismatch": mismatch_view(check.mismatch) if check.mismatch else None,
        "example": check.example,
        "hint": None if check.passed else (check.hint or DEFAULT_HINTS.get(check.kind, DEFAULT_HINT)),
        "traceback": [{"line": f.line, "function": f.function, "source": f.source,
                       "raised": n == len(check.traceback) - 1} for n, f in enumerate(check.traceback)],
        "figures": figures,
        "curves": [svg.curve_view(c, uid=f"curve-{index}-{n}") for n, c in enumerate(check.curves)],
        "figures_masked": any(extra["kind"] == "masked" for fig in figures for extra in fig["extras"]),
        "group": check.group,
        "duration": f"{check.duration:.2f}",
    }


def _capped(text: str, limit: int = MAX_OUTPUT) -> tuple[str, int]:
    """(at most ``limit`` characters of ``text``, how many were left out)."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def mistake_groups(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failed checks grouped by their diagnosis, largest group first: one mistake behind several
    failures is said once, with the checks it explains and what to try next."""
    groups: dict[str, dict[str, Any]] = {}
    for check in checks:
        if check["passed"] or not check["diagnosis"]:
            continue
        group = groups.setdefault(check["diagnosis"], {"diagnosis": check["diagnosis"], "hint": check["hint"],
                                                       "checks": [], "points": 0.0})
        group["checks"].append({"title": check["title"], "anchor": check["anchor"]})
        group["points"] += float(check["max_points"]) - float(check["points"])
    ordered = sorted(groups.values(), key=lambda g: (-len(g["checks"]), -g["points"]))
    for group in ordered:
        group["points"] = _points(group["points"])
    return ordered


def reproduce(result: results.GradeResult) -> str:
    """The command a student runs to see this grading again, on their own copy of the exercise.

    Never the recorded command as such: a class graded by an instructor records the
    instructor's paths. The student's file is solution.py in their exercise folder; a file of
    another name is named by its base name.
    """
    parts = ["grade", f"exercises/{result.exercise}"]
    name = Path(result.submission.replace("\\", "/")).name
    if name and name != "solution.py":
        parts += ["--submission", name]
    if result.seed:
        parts += ["--seed", str(result.seed)]
    return " ".join(parts)


def load_error_view(result: results.GradeResult) -> dict[str, Any] | None:
    """Why the file could not be loaded: the sentence, the line and its source, as the failed checks have them."""
    if not result.load_error:
        return None
    check = next((c for c in result.checks if c.kind == results.KIND_LOAD_ERROR), None)
    frames = check.traceback if check else ()
    return {
        "summary": check.summary if check and check.summary else result.load_error,
        "details": result.load_error if not check or check.summary != result.load_error else "",
        "source": check.details if check else "",
        "frames": [{"line": f.line, "function": f.function, "source": f.source} for f in frames],
    }


def student_view(result: results.GradeResult) -> dict[str, Any]:
    percent = _percent(result.score, result.max_score)
    output, output_cut = _capped(result.student_output or "")
    checks = [check_view(c, n) for n, c in enumerate(result.failures_first())]
    groups = mistake_groups(checks)
    sizes = {g["diagnosis"]: len(g["checks"]) for g in groups}
    for check in checks:
        check["explains"] = sizes.get(check["diagnosis"], 0) if not check["passed"] else 0
    failed = sum(not c["passed"] for c in checks)
    versions = dict(result.versions)
    return {
        "exercise": result.exercise,
        "title": result.title,
        "submission": result.submission,
        "score": _points(result.score),
        "max_score": _points(result.max_score),
        "percent": percent,
        "meter": svg.meter_view(result.score / result.max_score if result.max_score else 0.0),
        "verdict": ("All checks passed" if failed == 0
                    else f"{failed} of {len(checks)} check{'s' if len(checks) != 1 else ''} failed"),
        "started_at": result.started_at,
        "date": _date(result.started_at),
        "duration": f"{result.duration:.1f}",
        "seed": "set by your instructor for final grading (not shown)" if result.seed_hidden else result.seed,
        "devices": ", ".join(result.devices),
        "isolation": result.isolation,
        "torch_version": versions.pop("torch", "unknown"),
        "grader_version": versions.pop("grader", versions.pop("attention-grader", "unknown")),
        "versions": sorted(versions.items()),
        "command": reproduce(result),
        "load_error": load_error_view(result),
        "checks": checks,
        "mistake_groups": groups,
        "student_output": output,
        "student_output_cut": output_cut,
    }


def render_student(result: results.GradeResult) -> str:
    return _ENV.get_template("student.html.j2").render(view=student_view(result))


def write_student_report(result: results.GradeResult, report_dir: Path) -> Path:
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"{result.exercise}.html"
    path.write_text(render_student(result), encoding="utf-8")
    return path


# -- the class report --------------------------------------------------------------

def _link(report: str | None) -> str | None:
    """A relative link to a student's report; None for anything that is not a plain relative path."""
    if not report:
        return None
    path = report.replace("\\", "/")
    if path.startswith("/") or ":" in path.split("/")[0]:
        return None
    return urllib.parse.quote(path, safe="/")


def check_stats(entries: tuple[results.StudentEntry, ...]) -> list[dict[str, Any]]:
    """Per check, in the order checks first appear: how many students passed it."""
    order: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.problem is not None:
            continue  # not graded: it says nothing about the checks
        for check in entry.result.checks:
            row = order.setdefault(check.check_id, {"id": check.check_id, "title": check.title,
                                                    "max_points": _points(check.max_points),
                                                    "passed": 0, "total": 0, "group": check.group,
                                                    "hidden": check.hidden,
                                                    "category": check.category or check.group})
            row["total"] += 1
            row["passed"] += check.passed
    rows = list(order.values())
    for row in rows:
        row["rate"] = _percent(row["passed"], row["total"])
        row["meter"] = svg.meter_view(row["passed"] / row["total"] if row["total"] else 0.0, width=120, height=12)
    return rows


def common_diagnoses(entries: tuple[results.StudentEntry, ...]) -> list[dict[str, Any]]:
    """The known mistakes found in the class, most common first, with the checks they failed."""
    counts: collections.Counter[str] = collections.Counter()
    students: dict[str, set[str]] = collections.defaultdict(set)
    checks: dict[str, set[str]] = collections.defaultdict(set)
    for entry in entries:
        for check in entry.result.checks:
            if not check.passed and check.diagnosis:
                students[check.diagnosis].add(entry.student)
                checks[check.diagnosis].add(check.title)
    for diagnosis, who in students.items():
        counts[diagnosis] = len(who)
    return [{"text": d, "count": n, "checks": sorted(checks[d])}
            for d, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_DIAGNOSES]]


def class_view(batch: results.BatchResult) -> dict[str, Any]:
    entries = tuple(sorted(batch.entries, key=lambda e: e.student.lower()))
    scores = [e.result.score for e in entries]
    max_score = batch.max_score
    students = []
    for entry in entries:
        result = entry.result
        failed = [c.title for c in result.failures_first() if not c.passed] if entry.problem is None else []
        students.append({
            "name": entry.student,
            "score": _points(result.score),
            "score_value": result.score,
            "max_score": _points(result.max_score),
            "percent": _percent(result.score, result.max_score),
            "failed": failed,
            "hidden_failed": [c.title for c in result.checks if c.hidden and not c.passed],
            "load_error": result.load_error if entry.problem is None else None,
            "problem": entry.problem,
            "source": entry.source,
            "link": _link(entry.report),
        })
    return {
        "exercise": batch.exercise,
        "title": batch.title,
        "started_at": batch.started_at,
        "date": _date(batch.started_at),
        "duration": f"{batch.duration:.0f}",
        "count": len(entries),
        "max_score": _points(max_score),
        "mean": _points(round(statistics.fmean(scores), 2)) if scores else "\u2013",
        "median": _points(round(statistics.median(scores), 2)) if scores else "\u2013",
        "all_passed": sum(e.result.all_passed for e in entries),
        "histogram": svg.histogram_view(scores, max_score),
        "checks": check_stats(entries),
        "diagnoses": common_diagnoses(entries),
        "students": students,
        "graded": len(batch.graded),
        "not_graded": [{"name": e.student, "source": e.source, "problem": e.problem} for e in entries
                       if e.problem is not None],
        "warnings": list(batch.warnings),
        "skipped": list(batch.skipped),
        "seed": batch.seed,
        "seed_hidden": batch.seed_hidden,
        "layout": batch.layout,
    }


def render_class(batch: results.BatchResult) -> str:
    return _ENV.get_template("class.html.j2").render(view=class_view(batch))


def write_class_report(batch: results.BatchResult, report_dir: Path) -> Path:
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "index.html"
    path.write_text(render_class(batch), encoding="utf-8")
    return path
