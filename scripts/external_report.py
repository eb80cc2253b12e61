"""Grade every entry of the real-code corpus (tests/corpus/<exercise>/external/) and say how the grader did.

One line per entry: whether the verdict is right (a correct entry gets full marks, a buggy
one loses points), and whether the diagnosis names the bug its header says is there::

    python scripts/external_report.py                   # every entry, then totals per exercise
    python scripts/external_report.py 02_multihead      # one exercise
    python scripts/external_report.py -k annotated -v   # entries whose name contains "annotated",
                                                        # with every failed check and its diagnosis

A buggy entry's diagnosis is classified from its header's ``# names:`` (one group of phrases
per bug, groups separated by ";", phrases by " | "): **named** when every bug has a failed
check whose diagnosis contains one of its phrases and no diagnosis matches none of them (a bug
that only a check's summary or a raw error names is counted apart, not as named);
**wrong** when some failed check's diagnosis matches no phrase of any bug (it names a mistake
the code does not make); **not named** otherwise (no diagnosis, or only some of the bugs).
The issue's target is at least 90% named and none wrong. Exit status 0 always: this
measures, it does not judge (tests/test_corpus_external.py does).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
NAMED, WRONG, NOT_NAMED = "named", "wrong", "not named"


def _conftest():
    """tests/conftest.py, for its header parser and in-process grading (not put on sys.path:
    tests/ holds a ``grader`` folder that would shadow the package)."""
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("corpus_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def entries(exercise: str | None = None, name: str | None = None) -> list[tuple[str, Path]]:
    found = []
    for folder in sorted(CORPUS.glob("*/external")):
        if exercise and folder.parent.name != exercise:
            continue
        found += [(folder.parent.name, p) for p in sorted(folder.glob("*.py")) if not name or name in p.stem]
    return found


def diagnoses(result) -> list[str]:
    """The distinct diagnoses of the failed checks, in check order."""
    seen = []
    for check in result.checks:
        if not check.passed and check.diagnosis and check.diagnosis not in seen:
            seen.append(check.diagnosis)
    return seen


def named_bugs(entry, result) -> tuple[int, int, int]:
    """(bugs a diagnosis names, further bugs only a check's summary names, bugs). A summary such as
    "forward modified its mask argument in place" or a raw exception tells the student something, but
    the issue's target is about diagnoses, so only those count as naming a bug."""
    failed = [c for c in result.checks if not c.passed]
    diagnoses_said = [(c.diagnosis or "").lower() for c in failed]
    summaries_said = [c.summary.lower() for c in failed]
    groups = [[p.lower() for p in group] for group in entry.names]
    by_diagnosis = [any(p in d for d in diagnoses_said for p in group) for group in groups]
    by_summary = [not hit and any(p in s for s in summaries_said for p in group)
                  for hit, group in zip(by_diagnosis, groups)]
    return sum(by_diagnosis), sum(by_summary), len(groups)


def classify(entry, result) -> str:
    """named / wrong / not named, for a buggy entry (see the module docstring)."""
    groups = [[p.lower() for p in group] for group in entry.names]
    if any(not any(p in d.lower() for group in groups for p in group) for d in diagnoses(result)):
        return WRONG
    named, _, bugs = named_bugs(entry, result)
    return NAMED if bugs and named == bugs else NOT_NAMED


def verdict_right(entry, result) -> bool:
    full = result.score == result.max_score
    return full if entry.category == "correct" else not full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exercise", nargs="?", help="Only this exercise (e.g. 02_multihead).")
    parser.add_argument("-k", dest="name", help="Only entries whose file name contains this.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="Also print every failed check with its summary and diagnosis.")
    args = parser.parse_args()
    conftest = _conftest()
    totals: dict[str, Counter] = {}
    chosen = entries(args.exercise, args.name)
    if not chosen:
        parser.error(f"no external entries match (exercise={args.exercise!r}, -k {args.name!r}) under {CORPUS}")
    for n, (exercise, path) in enumerate(chosen, 1):
        entry = conftest.read_entry(path)
        result = conftest.grade(exercise, path)
        count = totals.setdefault(exercise, Counter())
        count["entries"] += 1
        right = verdict_right(entry, result)
        count["verdict right" if right else "verdict wrong"] += 1
        line = (f"[{n}/{len(chosen)}] {exercise}/{path.stem}: {entry.category}, {result.score:g}/{result.max_score:g}, "
                f"verdict {'right' if right else 'WRONG'}")
        if entry.category == "buggy":
            named = classify(entry, result)
            count[named] += 1
            count["buggy"] += 1
            given = " / ".join(diagnoses(result)) or "(none)"
            hits, in_summary, bugs = named_bugs(entry, result)
            line += f"; diagnosis {named.upper() if named != NAMED else named} ({hits} of {bugs} bugs named" \
                    + (f", {in_summary} more only in a summary" if in_summary else "") + "): " \
                    f"given {given!r}; expected {entry.expected_diagnosis!r}"
        print(line, flush=True)
        if args.verbose:
            for check in result.checks:
                if not check.passed:
                    summary = " ".join(check.summary.split())[:160]
                    print(f"    {check.check_id} ({check.points:g}/{check.max_points:g}): {summary}"
                          f" | diagnosis: {check.diagnosis}")
    print()
    for exercise, count in totals.items():
        buggy = count["buggy"]
        share = f"{100 * count[NAMED] / buggy:.0f}%" if buggy else "n/a"
        print(f"{exercise}: {count['entries']} entries, verdict right {count['verdict right']}, "
              f"wrong {count['verdict wrong']}; of {buggy} buggy: named {count[NAMED]} ({share}), "
              f"wrong {count[WRONG]}, not named {count[NOT_NAMED]}")
    every = sum(totals.values(), Counter())
    if every["buggy"]:
        print(f"all: {every['entries']} entries, verdict right {every['verdict right']}, "
              f"wrong {every['verdict wrong']}; of {every['buggy']} buggy: named {every[NAMED]} "
              f"({100 * every[NAMED] / every['buggy']:.0f}%), wrong {every[WRONG]}, "
              f"not named {every[NOT_NAMED]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
