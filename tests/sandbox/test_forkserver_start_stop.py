"""The forkserver ends with the process that started it, at once, and never with another one.

Left alone it would see its grader go and then tear down its own interpreter and torch, holding
the grader's stdout and stderr open all the while (a pipe reading `grade`'s output stayed open
most of a second after `grade` had exited).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

STARTS_AND_EXITS = """
import json, os
from grader.sandbox import forkserver
forkserver.warm_up()
pid = forkserver._SERVER._forkserver_pid
with open(f"/proc/{pid}/environ", "rb") as f:
    environ = sorted(entry.split(b"=")[0].decode() for entry in f.read().split(b"\\0") if entry)
fork = os.fork()
if fork == 0:   # another process (forked, not the forkserver's starter) asks it to stop: nothing happens
    forkserver.stop()
    os._exit(0)
os.waitpid(fork, 0)
print(json.dumps({"pid": pid, "alive_after_the_fork_asked": os.waitpid(pid, os.WNOHANG) == (0, 0),
                  "environ": environ, "grader_environ": sorted(os.environ)}))
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"   # a zombie ran its course too
    except FileNotFoundError:
        return True


def test_the_forkserver_is_gone_when_its_grader_has_exited(tmp_path):
    environ = {**os.environ, "TMPDIR": str(tmp_path), "GRADE_TOKEN": "secret", "PATH": os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-c", STARTS_AND_EXITS], capture_output=True, text=True, timeout=60,
                          env=environ)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert "GRADE_TOKEN" not in seen["environ"] and "GRADE_TOKEN" in seen["grader_environ"]
    assert seen["alive_after_the_fork_asked"]
    assert _gone(seen["pid"])   # not still importing torch, nor tearing it down


FIRST_CALL_COLD = """
import json, sys, time
from pathlib import Path
from grader.sandbox import probe
from grader.sandbox.proxy import Student, SubmissionRunner
from grader.spec import Limits
started = time.monotonic()
runner = SubmissionRunner(submission=Path(sys.argv[1]), limits=Limits(call_seconds=5.0, total_seconds=1.5),
                          isolation=probe.strongest_available())
try:
    value = Student(runner).call("answer")
finally:
    runner.close()
print(json.dumps({"value": value, "used": runner.used, "elapsed": time.monotonic() - started}))
"""


def test_a_forkserver_still_importing_torch_is_not_the_submissions_time(tmp_path):
    """The first call of a fresh grader waits for its forkserver to import torch (a second or two): the
    submission's total (1.5 s here) is charged from the fork on, not for that wait."""
    path = tmp_path / "solution.py"
    path.write_text("def answer():\n    return 42\n")
    done = subprocess.run([sys.executable, "-c", FIRST_CALL_COLD, str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["value"] == 42
    assert seen["elapsed"] > seen["used"] + 0.5, seen   # the forkserver's import of torch was waited for...
    assert seen["used"] < 0.75, seen                    # ...and not charged (a fork, a load and one call)
