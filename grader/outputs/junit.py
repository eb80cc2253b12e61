"""The JUnit XML of a GradeResult or a BatchResult, for CI systems and LMS tooling.

Layout (the de facto schema GitHub Actions, GitLab and Jenkins read)::

    <testsuites name tests failures errors time>
      <testsuite name="<exercise>" (or "<student>/<exercise>" in a batch)
                 tests failures errors skipped time timestamp>
        <properties> score, max_score, seed, submission, ... </properties>
        <testcase classname="<exercise>" name="<check_id>" time="<duration>">
          <properties> points, max_points, title </properties>
          <failure message="<summary> <likely mistake>" type="<kind>">full feedback</failure>
        </testcase>
        <system-out>what the submission printed</system-out>
      </testsuite>
    </testsuites>

Every failed check is a ``<failure>`` (a grader bug is kind "internal" there), so
``errors`` is always 0. Submissions are untrusted: their text is escaped by
ElementTree, and characters XML 1.0 does not allow (NUL, ESC, lone surrogates, ...)
are written as visible ``\\xNN`` / ``\\uNNNN`` escapes so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader import results
from grader.outputs.gradescope import check_output

# Everything outside XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_illegal(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """``text`` as a string XML 1.0 can hold: illegal characters become visible escapes."""
    return _ILLEGAL.sub(_escape_illegal, str(text))


def _number(value: float) -> str:
    return f"{value:g}"


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _element(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    cleaned = {key: clean(value) for key, value in attrs.items()}
    node = ET.Element(tag, cleaned) if parent is None else ET.SubElement(parent, tag, cleaned)
    if text:
        node.text = clean(text)
    return node


def _properties(parent: ET.Element, values: dict[str, object]) -> None:
    props = _element(parent, "properties")
    for name, value in values.items():
        if value is not None:
            _element(props, "property", name=name, value=value)


def failure_message(check: results.CheckResult) -> str:
    """One line, as the terminal summary shows it: why it failed, then the likely mistake."""
    first = check.summary.strip().split("\n")[0].strip() or "Check failed."
    return f"{first} {check.diagnosis}" if check.diagnosis else first


def _testcase(parent: ET.Element, exercise: str, check: results.CheckResult) -> None:
    case = _element(parent, "testcase", classname=exercise, name=check.check_id, time=_seconds(check.duration))
    _properties(case, {"points": _number(check.points), "max_points": _number(check.max_points),
                       "title": check.title, "group": check.group})
    if not check.passed:
        _element(case, "failure", check_output(check), message=failure_message(check),
                 type=check.kind or results.FAILED)


def _testsuite(parent: ET.Element, result: results.GradeResult, name: str) -> ET.Element:
    failures = sum(not c.passed for c in result.checks)
    suite = _element(parent, "testsuite", name=name, tests=len(result.checks), failures=failures, errors=0,
                     skipped=0, time=_seconds(result.duration), timestamp=result.started_at)
    _properties(suite, {"score": _number(result.score), "max_score": _number(result.max_score),
                        "seed": result.seed, "submission": result.submission, "isolation": result.isolation,
                        "load_error": result.load_error})
    for check in result.checks:
        _testcase(suite, result.exercise, check)
    if result.student_output:
        _element(suite, "system-out", result.student_output)
    return suite


def _testsuites(name: str, suites: list[tuple[str, results.GradeResult]], duration: float) -> ET.Element:
    root = _element(None, "testsuites", name=name,
                    tests=sum(len(r.checks) for _, r in suites),
                    failures=sum(not c.passed for _, r in suites for c in r.checks),
                    errors=0, time=_seconds(duration))
    for suite_name, result in suites:
        _testsuite(root, result, suite_name)
    return root


def to_junit(result: results.GradeResult) -> ET.Element:
    return _testsuites(result.exercise, [(result.exercise, result)], result.duration)


def batch_to_junit(batch: results.BatchResult) -> ET.Element:
    return _testsuites(batch.exercise, [(f"{e.student}/{batch.exercise}", e.result) for e in batch.entries],
                       batch.duration)


def _write(root: ET.Element, path: Path) -> Path:
    path = Path(path)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_junit(result: results.GradeResult, path: Path) -> Path:
    """Write one graded submission as JUnit XML to ``path`` (its folder must exist)."""
    return _write(to_junit(result), path)


def write_batch_junit(batch: results.BatchResult, path: Path) -> Path:
    """Write a whole batch as JUnit XML to ``path``: one ``<testsuite>`` per student."""
    return _write(batch_to_junit(batch), path)
