"""A class with problems, in a real browser: the class report (hidden checks, who could not be graded,
warnings, the seed) and a student's report of the same class (hidden checks only counted), opened
offline in headless Chromium with every request routed (see test_reports_browser.py)."""

from __future__ import annotations

import dataclasses
import urllib.parse

import pytest

from grader import results
from grader.outputs import report
from test_reports_browser import Visit, _samples, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

HOSTILE = '<script>alert("x")</script>'
SECRET = "SECRET-masking-title"


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    samples = _samples()
    root = tmp_path_factory.mktemp("class")
    graded = samples.failing_result()
    secret = results.CheckResult(check_id="test_secret", title=SECRET, points=0, max_points=2, status=results.FAILED,
                                 summary="Wrong values in output.", kind=results.KIND_WRONG, hidden=True,
                                 category="masking")
    graded = dataclasses.replace(graded, checks=graded.checks + (secret,), seed=987654, seed_hidden=True)
    absent = dataclasses.replace(graded, checks=tuple(dataclasses.replace(c, points=0, status=results.FAILED,
                                                                          kind=results.KIND_NOT_GRADED)
                                                      for c in graded.checks), load_error="Not graded")
    entries = []
    for name, result, problem in (("Zoë_Ng", graded, None), ("dan", absent, f"two candidate files: {HOSTILE}.py, b.py")):
        page = report.write_student_report(results.student_view(result), root / "students" / name)
        entries.append(results.StudentEntry(name, result, report=page.relative_to(root).as_posix(), problem=problem,
                                            source=f"{name}/"))
    batch = results.BatchResult(exercise="02_multihead", title="Multi-head attention", entries=tuple(entries),
                                started_at="2026-12-01T10:00:00+00:00", duration=12.0, seed=987654, seed_hidden=True,
                                warnings=(f"two entries both have the id 'dan' ({HOSTILE})",), skipped=("notes.txt",),
                                layout="canvas")
    report.write_class_report(batch, root)
    return root


def test_the_class_report_shows_the_instructor_everything(browser, klass):  # noqa: F811
    visit = Visit(browser, klass / "index.html")
    try:
        visit.check_clean()  # the student's text is text: no script ran
        text = visit.page.locator("body").inner_text()
        assert SECRET in text and "hidden from students: masking" in text
        assert "987654" in text and "two candidate files" in text and HOSTILE in text and "notes.txt" in text
        link = visit.page.locator("a", has_text="Zoë_Ng").get_attribute("href")
        assert link == "students/Zo%C3%AB_Ng/02_multihead.html"
        assert (klass / urllib.parse.unquote(link)).is_file()
    finally:
        visit.close()


def test_a_students_report_of_the_class_counts_hidden_checks_only(browser, klass):  # noqa: F811
    visit = Visit(browser, klass / "students" / "Zoë_Ng" / "02_multihead.html")
    try:
        visit.check_clean()
        text = visit.page.locator("body").inner_text()
        assert "Hidden checks: masking" in text and "1 of 1 hidden masking check failed." in text
        assert SECRET not in text and "987654" not in text and "set by your instructor" in text
    finally:
        visit.close()
