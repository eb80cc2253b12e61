"""grader.junit and `grade --junit`: the JUnit XML parsed back with ElementTree and junitparser,
and validated against the Jenkins xunit plugin's junit-10 schema (vendored in tests/schemas/)."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest
import xmlschema
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, grade
from grader import results
from grader.outputs import junit
from grader.cli import main

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[2] / "schemas" / "junit-10.xsd")

CORRECT = CORPUS / "02_multihead" / "correct" / "einsum.py"
BUGGY = CORPUS / "02_multihead" / "buggy" / "no_scale.py"
HOSTILE = "\x00\x1b<&>"


def _props(element: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in element.findall("properties/property")}


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in suite.findall("testcase")}


def _case(suite: ET.Element, case: ET.Element) -> dict[str, str]:
    """A check's points, max_points and title: properties of its suite (the schema has none per case)."""
    prefix = f"check.{case.get('name')}."
    return {k[len(prefix):]: v for k, v in _props(suite).items() if k.startswith(prefix)}


def _assert_consistent(root: ET.Element) -> None:
    """Valid against junit-10.xsd; every count agrees with the elements it counts; points add up to the score."""
    SCHEMA.validate(ET.ElementTree(root))
    suites = root.findall("testsuite")
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert suite.get("errors") == "0"
        points = sum(float(_case(suite, c)["points"]) for c in cases)
        assert float(_props(suite)["score"]) == pytest.approx(points)
        assert float(_props(suite)["max_score"]) == pytest.approx(sum(float(_case(suite, c)["max_points"])
                                                                      for c in cases))
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites)


def test_the_schema_refuses_what_the_old_layout_wrote():
    # Properties inside a test case (what this module wrote before) are not valid junit-10:
    # the validation above would catch a return to them.
    old = ET.fromstring('<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c">'
                        '<properties><property name="points" value="1"/></properties></testcase></testsuite>'
                        '</testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(ET.ElementTree(old))


def test_a_correct_submission_has_one_passing_testcase_per_check(tmp_path):
    out = tmp_path / "out"  # not there yet: the report folder is made by grading, so --junit may point into it
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(CORRECT), "-q",
                                        "--report-dir", str(out), "--junit", str(out / "junit.xml"),
                                        "--seed", "7"])
    assert outcome.exit_code == 0, outcome.output
    root = ET.parse(out / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("failures") == "0"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "02_multihead" and suite.get("failures") == "0"
    assert _props(suite)["seed"] == "7"
    cases = suite.findall("testcase")
    total = sum(float(_case(suite, c)["max_points"]) for c in cases)
    assert _props(suite)["score"] == _props(suite)["max_score"] == f"{total:g}"
    assert len(cases) > 5 and not root.findall(".//failure")
    assert {c.get("classname") for c in cases} == {"02_multihead"}
    assert all(c.get("name").startswith("test_") and float(c.get("time")) >= 0 for c in cases)
    assert all(_case(suite, c)["points"] == _case(suite, c)["max_points"] for c in cases)
    _assert_consistent(root)


def test_a_buggy_submission_fails_with_the_likely_mistake_in_the_message(tmp_path):
    result = grade("02_multihead", BUGGY)
    path = junit.write_junit(result, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    _assert_consistent(root)
    (suite,) = root.findall("testsuite")
    cases = _cases(suite)
    assert list(cases) == [c.check_id for c in result.checks]
    failed = {name: case for name, case in cases.items() if case.find("failure") is not None}
    assert set(failed) == {c.check_id for c in result.checks if not c.passed}
    assert "test_matches_reference_float64" in failed and "test_constructor" not in failed
    for case in failed.values():
        failure = case.find("failure")
        assert "not divided by sqrt(d_k)" in failure.get("message")
        assert "\n" not in failure.get("message")
        assert failure.get("type") == results.KIND_WRONG
        assert "Likely mistake" in failure.text and "Hint:" in failure.text
        assert _case(suite, case)["points"] == "0" and float(_case(suite, case)["max_points"]) > 0
    assert float(_props(suite)["score"]) == result.score < result.max_score


def test_hostile_text_is_escaped_and_illegal_characters_are_replaced(tmp_path):
    check = results.CheckResult(check_id=f"test_{HOSTILE}", title=f"title {HOSTILE}", points=0, max_points=2,
                                status=results.FAILED, summary=f"summary {HOSTILE}\nsecond line",
                                kind=results.KIND_STUDENT_ERROR, details=f"details {HOSTILE}\ud800\ufffe",
                                diagnosis=f"diagnosis {HOSTILE}", hint="]]> hint", example="<![CDATA[x]]>")
    passed = results.CheckResult(check_id="test_ok", title="ok", points=1, max_points=1, status=results.PASSED)
    result = results.GradeResult(exercise="02_multihead", title="t", submission=f"sub{HOSTILE}.py",
                                 checks=(check, passed), seed=3, started_at="2024-05-01T12:34:56+00:00",
                                 duration=1.5, isolation="namespaces", command="grade",
                                 student_output=f"printed {HOSTILE}\x07\x7f", load_error=None)
    path = junit.write_junit(result, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()  # parses: no NUL or ESC reached the file
    raw = path.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw and b"\x07" not in raw
    _assert_consistent(root)
    (suite,) = root.findall("testsuite")
    assert _props(suite)["submission"] == "sub\\x00\\x1b<&>.py"
    case = _cases(suite)["test_\\x00\\x1b<&>"]
    failure = case.find("failure")
    assert failure.get("message") == "summary \\x00\\x1b<&> diagnosis \\x00\\x1b<&>"
    assert failure.get("type") == results.KIND_STUDENT_ERROR
    assert "details \\x00\\x1b<&>\\ud800\\ufffe" in failure.text
    assert "]]> hint" in failure.text and "<![CDATA[x]]>" in failure.text
    assert suite.find("system-out").text == "printed \\x00\\x1b<&>\\x07\x7f"


def test_batch_export_has_one_suite_per_student(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(CORRECT, klass / "alice.py")
    shutil.copy(BUGGY, klass / "bob.py")
    path = tmp_path / "class.xml"
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "02_multihead"), str(klass), "-q",
                                        "--report-dir", str(tmp_path / "out"), "--junit", str(path)])
    assert outcome.exit_code == 0, outcome.output
    root = ET.parse(path).getroot()
    _assert_consistent(root)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["alice/02_multihead", "bob/02_multihead"]
    assert suites["alice/02_multihead"].get("failures") == "0"
    assert int(suites["bob/02_multihead"].get("failures")) > 0
    assert int(root.get("failures")) == int(suites["bob/02_multihead"].get("failures"))
    assert _props(suites["bob/02_multihead"])["submission"].endswith("bob.py")
    # Each student is a group of their own (junit2html and Jenkins group by class name).
    classnames = {name: {c.get("classname") for c in s.findall("testcase")} for name, s in suites.items()}
    assert classnames == {"alice/02_multihead": {"02_multihead.alice"}, "bob/02_multihead": {"02_multihead.bob"}}
    # junitparser, as CI tooling reads it, finds the same suites, cases and failures.
    parsed = junitparser.JUnitXml.fromfile(str(path))
    read = {suite.name: [(case.classname, case.name, case.is_passed) for case in suite] for suite in parsed}
    assert list(read) == list(suites)
    assert all(passed for _, _, passed in read["alice/02_multihead"])
    assert sum(not passed for _, _, passed in read["bob/02_multihead"]) == int(suites["bob/02_multihead"].get("failures"))


def _refused(args):
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(CORRECT), *args])
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert outcome.exit_code == 2, outcome.output
    assert len(lines) == 1 and lines[0].startswith("grade: error: --junit"), lines
    return lines[0]


def test_junit_into_a_missing_folder_exits_2_before_grading(tmp_path):
    assert "no such folder" in _refused(["--junit", str(tmp_path / "missing" / "junit.xml")])
    (tmp_path / "file").write_text("")
    assert "no such folder" in _refused(["--junit", str(tmp_path / "file" / "junit.xml")])
    assert "is a folder" in _refused(["--junit", str(tmp_path)])
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(CORRECT, klass / "alice.py")
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "02_multihead"), str(klass), "--report-dir",
                                        str(tmp_path / "out"), "--junit", str(tmp_path / "missing" / "junit.xml")])
    assert outcome.exit_code == 2 and outcome.output.startswith("grade: error: --junit"), outcome.output
    assert not (tmp_path / "out").exists()  # refused before grading anyone


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_junit_into_a_read_only_folder_exits_2(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "cannot write" in _refused(["--junit", str(folder / "junit.xml")])
    finally:
        folder.chmod(0o700)
