"""The HTML reports in a real browser: headless Chromium (Debian's), driven by Playwright.

Each report is opened from a file:// URL with every request routed: anything but
the page itself fails the test, as does a console error, a page error or a dialog
(a student's <script> that ran). Screenshots go to a temporary folder (and to
$REPORT_SCREENSHOTS when set), to be looked at.

Never `playwright install`: the browser is the system's /usr/bin/chromium.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from grader import results
from grader.outputs import report

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SAMPLES = Path(__file__).resolve().parents[1] / "grader" / "outputs" / "test_report.py"
# Each reason starts with "browser tests": tests/conftest.py repeats those in the summary of every run.
SKIP_NO_PLAYWRIGHT = "browser tests need Playwright: pip install -e '.[test]' (the browser itself is the system's)"
SKIP_NO_CHROMIUM = ("browser tests need Chromium at {path}: apt-get install chromium (Debian, Ubuntu), or set "
                    "CHROMIUM=/path/to/chromium (the README says how)")


def _samples():
    spec = importlib.util.spec_from_file_location("report_samples", SAMPLES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(SKIP_NO_PLAYWRIGHT)
    if not Path(CHROMIUM).exists():
        pytest.skip(SKIP_NO_CHROMIUM.format(path=CHROMIUM))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The class report and one report per student, laid out as the batch grader does."""
    samples = _samples()
    root = tmp_path_factory.mktemp("reports")
    entries = []
    for name, result in (("ada", samples.passing_result()), ("brian", samples.failing_result()),
                         ("chen", samples.crashing_result()), ("dora", samples.hostile_result())):
        page = report.write_student_report(result, root / name)
        entries.append(results.StudentEntry(name, result, report=page.relative_to(root).as_posix()))
    batch = results.BatchResult(exercise="02_multihead", title="Multi-head attention", entries=tuple(entries),
                                started_at="2024-05-02T08:00:00+00:00", duration=61.0)
    report.write_class_report(batch, root)
    report.write_student_report(samples.learning_result(), root / "eve")  # 03: loss curves, not in the class
    report.write_student_report(samples.grouped_result(), root / "fay")   # one mistake behind three failures
    return root


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    extra = os.environ.get("REPORT_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, Path(extra) / png.name)


class Visit:
    """A page opened offline, with what went wrong while it loaded."""

    def __init__(self, browser, path: Path, *, javascript: bool = True, width: int = 1200,
                 also: frozenset[str] = frozenset()):
        self.url = path.as_uri()
        self.allowed = {self.url} | set(also)       # pages a test navigates to on purpose
        self.context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", self._route)
        self.page.goto(self.url, wait_until="load")

    def _route(self, route):
        if route.request.url in self.allowed:
            route.continue_()
        else:
            self.problems.append(f"request: {route.request.url}")
            route.abort()

    def check_clean(self):
        assert self.problems == []
        assert set(self.requests) <= self.allowed, self.requests

    def close(self):
        self.context.close()


@pytest.mark.parametrize("student", ["brian", "chen", "dora", "ada"])
def test_student_report_loads_offline_without_errors(browser, reports, screenshots, student):
    visit = Visit(browser, reports / student / "02_multihead.html")
    try:
        page = visit.page
        visit.check_clean()
        assert page.locator("h1").inner_text().startswith("02_multihead")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], "the report scrolls sideways"
        page.screenshot(path=str(screenshots / f"student-{student}.png"), full_page=True)
    finally:
        visit.close()


def test_heatmaps_are_drawn_side_by_side(browser, reports):
    visit = Visit(browser, reports / "brian" / "02_multihead.html")
    try:
        figures = visit.page.locator("figure.heatmap")
        assert figures.count() == 3
        boxes = [figures.nth(i).bounding_box() for i in range(3)]
        assert all(b["width"] > 150 and b["height"] > 150 for b in boxes)
        assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]               # side by side at 1200 px
        assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
        assert visit.page.locator("p.diagnosis").first.is_visible()
        assert "Likely mistake:" in visit.page.locator("p.diagnosis").first.inner_text()
    finally:
        visit.close()


def test_loss_curves_are_drawn_for_passed_and_failed_checks(browser, reports, screenshots):
    visit = Visit(browser, reports / "eve" / "03_encoder_decoder.html")
    try:
        visit.check_clean()
        curves = visit.page.locator("figure.curve svg")
        assert curves.count() == 2
        for i in range(2):
            box = curves.nth(i).bounding_box()
            assert box["width"] > 300 and box["height"] > 150
            line = curves.nth(i).locator("polyline").bounding_box()
            assert line["width"] > 20 and line["height"] > 20  # a real line, not a dot
        visit.page.screenshot(path=str(screenshots / "student-eve-curves.png"), full_page=True)
    finally:
        visit.close()


def test_student_script_is_shown_as_text_and_never_runs(browser, reports):
    visit = Visit(browser, reports / "dora" / "02_multihead.html")
    try:
        visit.check_clean()                                                   # no alert() dialog
        assert visit.page.locator("script").count() == 0
        assert "<script>alert(1)</script>" in visit.page.locator("p.summary").inner_text()
    finally:
        visit.close()


def test_class_report_sorts_with_javascript(browser, reports, screenshots):
    visit = Visit(browser, reports / "index.html")
    try:
        page = visit.page
        visit.check_clean()
        names = page.locator("table.students tbody th")
        assert names.all_inner_texts() == ["ada", "brian", "chen", "dora"]
        score = page.locator("table.students thead th").nth(1).locator("button.sort")
        score.click()                                                         # ascending
        assert names.all_inner_texts()[0] in ("chen", "dora")                 # a zero score first
        score.click()                                                         # descending
        assert names.all_inner_texts()[0] == "ada"
        visit.check_clean()
        page.locator("table.students thead th").nth(1).locator("button.sort").click()
        page.reload()
        page.screenshot(path=str(screenshots / "class.png"), full_page=True)
        assert page.locator("svg.histogram rect").count() >= 6
    finally:
        visit.close()


def test_class_report_without_javascript_links_to_students(browser, reports):
    brian = reports / "brian" / "02_multihead.html"
    visit = Visit(browser, reports / "index.html", javascript=False, also=frozenset({brian.as_uri()}))
    try:
        page = visit.page
        visit.check_clean()
        assert page.locator("button.sort").count() == 0
        assert page.locator("table.students tbody th").all_inner_texts() == ["ada", "brian", "chen", "dora"]
        page.locator("a", has_text="brian").click()
        page.wait_for_load_state("load")
        assert page.url == brian.as_uri()
        visit.check_clean()
    finally:
        visit.close()


def test_print_layout(browser, reports, screenshots):
    visit = Visit(browser, reports / "brian" / "02_multihead.html")
    try:
        visit.page.emulate_media(media="print")
        visit.page.screenshot(path=str(screenshots / "student-brian-print.png"), full_page=True)
        pdf = visit.page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
        visit.check_clean()
    finally:
        visit.close()


def test_one_mistake_behind_three_failures_is_one_box_that_links_to_them(browser, reports, screenshots):
    visit = Visit(browser, reports / "fay" / "02_multihead.html")
    try:
        page = visit.page
        visit.check_clean()
        box = page.locator("section.mistakes div.diagnosis")
        assert box.count() == 1 and box.first.is_visible()
        assert box.first.inner_text().startswith("One mistake explains 3 failed checks")
        column = page.locator("nav.toc td.mistake")
        assert "Your scores are not divided by sqrt(d_k)" in column.all_inner_texts()
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
        box.first.locator("a", has_text="Padding mask").click()
        assert page.url.endswith("#" + page.locator("section.check", has_text="Padding mask").first.get_attribute("id"))
        assert page.locator("p.advice").first.is_visible()
        page.screenshot(path=str(screenshots / "student-fay-grouped.png"), full_page=True)
    finally:
        visit.close()
