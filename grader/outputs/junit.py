"""The JUnit XML of a GradeResult or a BatchResult, for CI systems and LMS tooling.

Layout (valid against the Jenkins xunit plugin's junit-10.xsd, which GitHub Actions,
GitLab and junit2html also read)::

    <testsuites name tests failures errors time>
      <testsuite name="<exercise>" (or "<student>/<exercise>" in a batch)
                 tests failures errors skipped time timestamp>
        <properties> score, max_score, seed, submission, ...,
                     check.<check_id>.points / .max_points / .title for every check </properties>
        <testcase classname="<exercise>" (in a batch "<exercise>.<student>") name="<check_id>"
                  group="<group>" time="<duration>">
          <failure message="<summary> <likely mistake>" type="<kind>">full feedback</failure>
        </testcase>
        <system-out>what the submission printed</system-out>
      </testsuite>
    </testsuites>

The schema allows no properties on a test case, so each check's points and title are
properties of its suite; a batch's class name carries the student, so every student's
checks are a group of their own in junit2html and Jenkins.

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


def check_properties(check: results.CheckResult) -> dict[str, object]:
    prefix = f"check.{check.check_id}."
    return {prefix + "points": _number(check.points), prefix + "max_points": _number(check.max_points),
            prefix + "title": check.title}


def _testcase(parent: ET.Element, classname: str, check: results.CheckResult) -> None:
    case = _element(parent, "testcase", classname=classname, name=check.check_id, group=check.group,
                    time=_seconds(check.duration))
    if not check.passed:
        _element(case, "failure", check_output(check), message=failure_message(check),
                 type=check.kind or results.FAILED)


def _testsuite(parent: ET.Element, result: results.GradeResult, name: str, classname: str,
               extra: dict[str, object] | None = None) -> ET.Element:
    failures = sum(not c.passed for c in result.checks)
    suite = _element(parent, "testsuite", name=name, tests=len(result.checks), failures=failures, errors=0,
                     skipped=0, time=_seconds(result.duration), timestamp=result.started_at)
    values: dict[str, object] = {"score": _number(result.score), "max_score": _number(result.max_score),
                                 "seed": None if result.seed_hidden and extra is None else result.seed,
                                 "submission": result.submission, "isolation": result.isolation,
                                 "load_error": result.load_error, **(extra or {})}
    for check in result.checks:
        values.update(check_properties(check))
    _properties(suite, values)
    for check in result.checks:
        _testcase(suite, classname, check)
    if result.student_output:
        _element(suite, "system-out", result.student_output)
    return suite


def _testsuites(name: str, duration: float, results_: list[results.GradeResult]) -> ET.Element:
    return _element(None, "testsuites", name=name, tests=sum(len(r.checks) for r in results_),
                    failures=sum(not c.passed for r in results_ for c in r.checks), errors=0,
                    time=_seconds(duration))


def to_junit(result: results.GradeResult) -> ET.Element:
    root = _testsuites(result.exercise, result.duration, [result])
    _testsuite(root, result, result.exercise, result.exercise)
    return root


def batch_to_junit(batch: results.BatchResult) -> ET.Element:
    """The instructor's file: every check in full (hidden ones too), the student in each class name."""
    root = _testsuites(batch.exercise, batch.duration, [e.result for e in batch.entries])
    for entry in batch.entries:
        extra = {"student": entry.student, "status": "graded" if entry.problem is None else "not graded",
                 "reason": entry.problem, **{f"identity.{k}": v for k, v in sorted(entry.identity.items())}}
        _testsuite(root, entry.result, f"{entry.student}/{batch.exercise}",
                   f"{batch.exercise}.{entry.student.replace('.', '_')}", extra)
    return root


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
