"""The real-code corpus (tests/corpus/<exercise>/external/): public implementations, fitted to the
contract with their computational core kept, each with a provenance header.

The entries are re-expressed, not copied: each reproduces its source's computation (the same
operations in the same order, the same axes, constants, fill values and dtype behaviour, and so the
same bugs) in this project's own words, and its header says where the code comes from (source,
commit, licence), exactly what was changed to fit the contract (``# adapted:``) and what is wrong
(``# bug:``). Adapting never adds or removes a bug: a default the source sets is kept (dropout=0.1
stays on), a value the source leaves to its caller is set to the harmless one (dropout 0).

Every correct entry gets full marks; every buggy one loses points in the checks its bug should
fail (and keeps the ones its header says it passes), with the diagnosis its header pins. An entry
the current grader gets wrong carries ``# known-gap:`` and is an xfail(strict=True): it flips to a
failure, to be unmarked, the day the engine gets it right. ``scripts/external_report.py`` measures
how well the diagnoses name the bugs; this file only holds the line on verdicts.
"""

from __future__ import annotations

import importlib.util
import sys
from types import SimpleNamespace

import pytest

from conftest import CORPUS, ROOT, assert_full_marks, assert_loses_the_right_points, grade, read_entry

ENTRIES = sorted(CORPUS.glob("*/external/*.py"))
PROVENANCE = ("source", "commit", "licence", "adapted", "bug")


def _id(path) -> str:
    return f"{path.parent.parent.name}/{path.stem}"


def _marks(path):
    entry = read_entry(path)
    if entry.known_gap:
        return [pytest.mark.xfail(strict=True, reason=f"known gap: {entry.known_gap}")]
    return []


@pytest.fixture(scope="module")
def graded():
    """Grade each entry once per session, whatever asks for it."""
    cache = {}

    def result(path):
        if path not in cache:
            cache[path] = grade(path.parent.parent.name, path)
        return cache[path]

    return result


def test_every_exercise_has_real_code():
    counts = {ex.name: len(list((ex / "external").glob("*.py"))) for ex in CORPUS.iterdir() if ex.is_dir()}
    assert all(counts[ex] >= 5 for ex in counts), counts
    assert sum(counts.values()) >= 40, counts


@pytest.mark.parametrize("path", ENTRIES, ids=_id)
def test_header_says_where_the_code_comes_from_and_what_is_wrong(path):
    entry = read_entry(path)
    assert entry.category in ("correct", "buggy"), entry.category
    missing = [field for field in PROVENANCE if not getattr(entry, field)]
    assert not missing, f"{_id(path)} lacks provenance: {missing}"
    assert "not copied" in entry.adapted, "say what was re-expressed and what was changed"
    if entry.category == "buggy":
        assert entry.fails and entry.expected_diagnosis and entry.names, \
            "a buggy entry says which checks its bug fails, what a right diagnosis names, and how to recognise it"
    else:
        assert entry.bug.startswith("none") and not entry.fails


@pytest.mark.parametrize("path", [pytest.param(p, marks=_marks(p)) for p in ENTRIES], ids=_id)
def test_real_code_gets_the_right_verdict(path, graded):
    entry = read_entry(path)
    result = graded(path)
    if entry.category == "correct":
        assert_full_marks(result)
    else:
        assert_loses_the_right_points(entry, result)


# -- the report's classification, on made-up results (no grading) ---------------------------

def _report():
    spec = importlib.util.spec_from_file_location("external_report", ROOT / "scripts" / "external_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _result(*checks):
    return SimpleNamespace(checks=[SimpleNamespace(passed=False, diagnosis=d, summary=s) for d, s in checks])


SCALE = (("not divided by sqrt",),)
SCALE_AND_INPLACE = (("not divided by sqrt",), ("in place",))


@pytest.mark.parametrize("names, checks, expected", [
    (SCALE, [("Your scores are not divided by sqrt(d_k).", "Wrong values in weights.")], "named"),
    (SCALE, [("The mask is ignored.", "Wrong values in weights.")], "wrong"),      # names a mistake not made
    (SCALE, [(None, "Wrong values in weights.")], "not named"),                   # no diagnosis at all
    (SCALE, [("Not divided by sqrt(d_k).", ""), ("Another mistake.", "")], "wrong"),  # one right, one not there
    (SCALE_AND_INPLACE, [(None, "forward modified its mask argument in place.")], "not named"),  # 1 of 2 bugs
    (SCALE_AND_INPLACE, [(None, "modified in place."), ("Not divided by sqrt(d_k).", "")], "not named"),  # summary
    (SCALE_AND_INPLACE, [("Changed in place.", ""), ("Not divided by sqrt(d_k).", "")], "named"),
])
def test_report_classifies_diagnoses(names, checks, expected):
    assert _report().classify(SimpleNamespace(names=names), _result(*checks)) == expected


def test_header_fields_may_span_lines_and_names_split_into_bugs(tmp_path):
    path = tmp_path / "entry.py"
    path.write_text("# corpus: buggy\n# fails: test_a test_b\n# adapted: first half,\n# adapted: second half.\n"
                    "# names: key.T | last two axes; np.sqrt\n\"\"\"Docstring.\"\"\"\n# source: not a header line\n")
    entry = read_entry(path)
    assert entry.fails == ("test_a", "test_b")
    assert entry.adapted == "first half, second half."
    assert entry.names == (("key.T", "last two axes"), ("np.sqrt",))
    assert entry.source is None  # the header ends at the first line that is not one of its fields
