"""Grade every corpus entry, reference and stub, and record each one's Gradescope results.json.

Used to show that a refactoring changes no behaviour: take a snapshot before, one after,
and compare them (byte for byte, per entry)::

    python scripts/results_snapshot.py write before.json
    ... change the code ...
    python scripts/results_snapshot.py write after.json
    python scripts/results_snapshot.py compare before.json after.json

``write`` grades in this process with the default seed (hostile entries are left out:
they are timing-dependent by design) and keeps, per entry, its results.json and the whole
results model (every check's status, message, diagnosis, shown example, mismatch and figures),
each without its timings (``execution_time``, ``duration``, ``started_at``). ``compare`` exits 1
and names every entry that differs; with ``--control`` (a second snapshot of the code before), an
entry that differs between the two snapshots of the same code is random by nature (dropout left on
draws differently each run) and held to its verdicts only: each check's status, points, summary and
diagnosis, and the score.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
REFERENCES = {"00_simple_attention": "simple_attention.py", "01_softmax": "softmax.py",
              "02_multihead": "multihead.py", "03_encoder_decoder": "encoder_decoder.py"}
CATEGORIES = ("correct", "buggy", "bad_input", "external")


def _entries() -> list[tuple[str, str, Path | None]]:
    """(exercise, label, submission) for everything graded; submission None is the stub."""
    found = []
    for exercise in sorted(p.name for p in (ROOT / "exercises").iterdir() if (p / "exercise.toml").is_file()):
        found.append((exercise, "stub", None))
        reference = REFERENCES.get(exercise)
        if reference:
            found.append((exercise, "reference", _reference_path(reference)))
        for category in CATEGORIES:
            for path in sorted((CORPUS / exercise / category).glob("*.py")):
                found.append((exercise, f"{category}/{path.stem}", path))
    return found


def _reference_path(name: str) -> Path:
    for folder in (ROOT / "attention_reference",):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(name)


def _grade(exercise: str, submission: Path | None) -> dict:
    try:
        from grader import api
    except ImportError:  # pragma: no cover - an older layout
        raise SystemExit("grader.api is not importable here")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        outcome = api.grade(exercise_dir=ROOT / "exercises" / exercise, submission=submission,
                            results_json=out, report_dir=None)
        graded = json.loads(out.read_text())
        graded["result"] = dataclasses.asdict(outcome.result)
        # Paths name the checkout: two checkouts of the same code give the same snapshot.
        return _untimed(json.loads(json.dumps(graded, default=repr).replace(str(ROOT), "<checkout>")))


TIMINGS = ("execution_time", "duration", "started_at")


def _untimed(value):
    """``value`` without the keys that measure time (they differ between two runs of the same code)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def write(path: Path) -> None:
    snapshot = {}
    entries = _entries()
    for n, (exercise, label, submission) in enumerate(entries, 1):
        key = f"{exercise}/{label}"
        snapshot[key] = _grade(exercise, submission)
        print(f"[{n}/{len(entries)}] {key}: {snapshot[key]['score']:g}/{snapshot[key]['max_score']:g}",
              file=sys.stderr)
    path.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")


def compare(before: Path, after: Path, control: Path | None = None) -> int:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    # Entries that differ between two snapshots of the same code (a submission whose dropout draws
    # differently each run) are held to their verdicts only: each check's status, points, summary and
    # diagnosis.
    random = set()
    if control is not None:
        again = json.loads(control.read_text())
        random = {k for k in old if k in again and old[k] != again[k]}
    differ = [k for k in sorted(set(old) | set(new))
              if (_verdicts(old[k]) != _verdicts(new.get(k)) if k in random else old.get(k) != new.get(k))]
    for key in differ:
        print(f"differs: {key}")
        if key in old and key in new:
            for a, b in zip(old[key]["tests"], new[key]["tests"]):
                if a != b:
                    print(f"  before: {json.dumps(a)[:400]}\n  after:  {json.dumps(b)[:400]}")
            for a, b in zip(old[key].get("result", {}).get("checks", ()), new[key].get("result", {}).get("checks", ())):
                if a != b:
                    print(f"  model before: {json.dumps(a)[:400]}\n  model after:  {json.dumps(b)[:400]}")
    same = len(set(old) & set(new)) - len([k for k in differ if k in old and k in new])
    print(f"{same} identical ({len(random & set(new)) - len(random & set(differ))} of them random by nature, "
          f"compared by verdicts: {', '.join(sorted(random)) or 'none'}), {len(differ)} different")
    return 1 if differ else 0


def _verdicts(entry: dict | None) -> list | None:
    if entry is None:
        return None
    return [(c["check_id"], c["status"], c["points"], c["summary"], c["diagnosis"])
            for c in entry.get("result", {}).get("checks", ())] + [entry.get("score")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    w = sub.add_parser("write")
    w.add_argument("path", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--control", type=Path, default=None,
                   help="a second snapshot of the code of BEFORE: entries that differ between the two are "
                        "random by nature and compared by their verdicts only")
    args = parser.parse_args()
    if args.verb == "write":
        write(args.path)
        return 0
    return compare(args.before, args.after, args.control)


if __name__ == "__main__":
    sys.exit(main())
