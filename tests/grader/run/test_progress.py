"""What `grade class` shows while it grades, read from a real terminal (a pseudo-terminal): the start
line, then a bar with count, rate and time left; a student who could not be graded above it; in a
log, one line per student; with --quiet, only the closing lines."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from conftest import EXERCISES, ROOT

RIGHT = (ROOT / "attention_reference" / "softmax.py").read_text()


def _on_a_terminal(args: list[str], cwd) -> tuple[int, str]:
    """Run ``grade`` with stderr on a pseudo-terminal; (exit status, what the terminal got)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    got = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the terminal's other end closed: the command is done
            break
        if not chunk:
            break
        got += chunk
    os.close(leader)
    return process.wait(timeout=600), got.decode(errors="replace")


def test_a_terminal_gets_a_start_line_and_a_bar_a_log_gets_lines_and_quiet_gets_none(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("ada", "bob"):
        (klass / f"{name}.py").write_text(RIGHT)
    (klass / "cy.py").write_bytes(b"\xff\xfe not python")   # graded: 0 with its load error
    (klass / "dee.py").symlink_to(klass / "ada.py")         # could not be graded: a link
    command = ["class", str(EXERCISES / "01_softmax"), str(klass), "--report-dir", str(tmp_path / "out"), "-j", "2"]
    status, shown = _on_a_terminal(command, tmp_path)
    assert status == 0, shown[-2000:]
    assert "Grading 3 submissions of 01_softmax, 2 at a time; 1 entry without a submission" in shown, shown
    bar = re.findall(r"Grading\s+\[[#-]+\]\s+(\d)/4", shown)   # redrawn in place (\r), to the last student
    assert bar and bar[0] == "0" and bar[-1] == "4", shown
    assert re.search(r"\d/4 [^\r]*\d+\.\d(/s| s each)", shown), shown  # the rate, once one is done
    assert "dee: not graded:" in shown                              # above the bar, where it is seen
    assert "[1/4]" not in shown                                     # no line per student on a terminal

    logged = subprocess.run([sys.executable, "-m", "grader", *command], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600)
    assert logged.returncode == 0, logged.stderr
    assert logged.stderr.splitlines()[0].startswith("Grading 0 submissions of 01_softmax, 1 at a time (3 unchanged")
    lines = re.findall(r"^\[(\d)/4\] (\w+): ", logged.stderr, re.M)
    assert sorted(n for n, _ in lines) == ["1", "2", "3", "4"] and sorted(s for _, s in lines) == ["ada", "bob", "cy",
                                                                                                   "dee"], lines
    assert "\x1b" not in logged.stderr

    quiet = subprocess.run([sys.executable, "-m", "grader", *command, "-q"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "3 graded, 1 could not be graded" in quiet.stdout
