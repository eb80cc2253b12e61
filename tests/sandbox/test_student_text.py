"""What a student's text and files can do to the grader's own outputs, through the real
``grade`` command: terminal escapes and lone surrogates are cleaned once, where the child's
strings are decoded; a link, a crash or a broken student never ends a class; a batch leaves no
folder behind."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, EXERCISES, ROOT
from grader import wire

HOSTILE = CORPUS / "02_multihead" / "hostile"
EXERCISE = EXERCISES / "02_multihead"


def _grade(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    private_tmp = tmp / "tmp"
    private_tmp.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, cwd=tmp, timeout=300,
                          env={**os.environ, "TMPDIR": str(private_tmp)})


def test_clean_text_shows_what_would_act_on_a_terminal():
    assert wire.clean_text("ok\n\tfine é 日本") == "ok\n\tfine é 日本"
    assert wire.clean_text("\x1b[2K\rPASS\x9b1m\u202e") == "\\x1b[2K\\x0dPASS\\x9b1m\\u202e"
    assert wire.clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert wire.clean_tree({"k\x1b": ["\ud800", 1]}) == {"k\\x1b": ["\ufffd", 1]}


def test_escapes_and_surrogates_reach_no_terminal_and_break_no_file(tmp_path):
    results = tmp_path / "results.json"
    done = _grade(str(EXERCISE), "--submission", str(HOSTILE / "prints_escapes.py"), "--report-dir",
                  str(tmp_path / "r"), "--results-json", str(results), tmp=tmp_path)
    out = done.stdout + done.stderr
    assert b"\x1b" not in out and b"\r" not in out and b"\x9b" not in out, out[-2000:]
    assert b"Score: 2/" in done.stdout   # the constructor check alone (it raises ValueError for bad sizes)
    raw = results.read_text()
    json.loads(raw)
    assert "\\ud800" not in raw and "\x1b" not in raw
    page = (tmp_path / "r" / "02_multihead.html").read_text()
    assert "\x1b" not in page and "\\x1b[2K" in page   # shown, made visible


def test_a_class_with_links_escapes_and_broken_students_is_graded_whole(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "escapes.py").write_text((HOSTILE / "prints_escapes.py").read_text())
    (klass / "linked.py").symlink_to(ROOT / "attention_reference" / "multihead.py")
    (klass / "exits.py").write_text("import os\nos._exit(3)\n")
    (klass / "quiet.py").write_text("x = 1\n")
    report = tmp_path / "report"
    done = _grade("class", str(EXERCISE), str(klass), "--report-dir", str(report), "--jobs", "2", tmp=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert b"\x1b" not in out and b"\r" not in out
    with open(report / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4, rows
    assert (report / "index.html").is_file()
    scores = {row["student"]: float(row["score"]) for row in rows}
    assert scores["linked"] == scores["exits"] == scores["quiet"] == 0, scores
    reasons = {row["student"]: row["reason"] for row in rows}
    assert "a link, not a file" in reasons["linked"], reasons
    left = sorted(p.name for p in (tmp_path / "tmp").iterdir())
    assert not left, f"the batch left {left} behind"


def test_without_the_cleaning_the_escapes_would_reach_the_summaries(monkeypatch):
    # The defence off: the child's strings kept as sent; the summaries then carry raw escapes.
    from conftest import grade

    monkeypatch.setattr(wire, "clean_text", lambda text: text)
    raw = grade("02_multihead", HOSTILE / "prints_escapes.py", call_seconds=3)
    assert any("\x1b[2K" in c.summary for c in raw.checks)
    monkeypatch.undo()
    clean = grade("02_multihead", HOSTILE / "prints_escapes.py", call_seconds=3)
    assert not any("\x1b" in c.summary or "\ud800" in c.summary for c in clean.checks)
    assert "\x1b" not in clean.student_output
