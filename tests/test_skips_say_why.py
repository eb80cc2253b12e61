"""A browser test that cannot run says why, in the summary of every run (not only with -rs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_without_chromium_the_run_says_why_the_browser_tests_skipped():
    env = {**os.environ, "CHROMIUM": "/nonexistent/chromium"}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "browser tests skipped: browser tests need Chromium at /nonexistent/chromium: apt-get install " \
           "chromium" in done.stdout, done.stdout[-2000:]
