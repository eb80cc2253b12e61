"""Hostile submissions, played for real: each is contained, earns nothing it did not
earn honestly, and leaves no process or file behind."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, grade
from grader import wire
from grader.run import session
from grader.sandbox import probe
from grader.sandbox.child import isolation, privileges, seccomp

EXERCISE = "02_multihead"
HOSTILE = CORPUS / EXERCISE / "hostile"
LIMITS = {"call_seconds": 2, "total_seconds": 40}
strong = pytest.mark.skipif(probe.strongest_available() != wire.LEVEL_NAMESPACES,
                            reason="this machine cannot create PID/network/mount namespaces")


def _honest_zeros_score(tmp_path: Path) -> float:
    """What the same submission earns without its attack: it returns zeros."""
    source = (HOSTILE / "exits_zero.py").read_text().replace("        import os\n        os._exit(0)\n", "")
    honest = tmp_path / "zeros.py"
    honest.write_text(source)
    return grade(EXERCISE, honest, **LIMITS).score


def _filled(name: str, folder: Path, **values: str) -> Path:
    """A copy of the hostile submission ``name`` with its __PLACEHOLDERS__ filled in."""
    values = {"ROOT": str(ROOT), "CWD": str(Path.cwd()), "PORT": "9", **values}
    source = (HOSTILE / f"{name}.py").read_text()
    for key, value in values.items():
        source = source.replace(f"__{key}__", value)
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


def _processes_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def zeros_score(tmp_path_factory):
    return _honest_zeros_score(tmp_path_factory.mktemp("zeros"))


@pytest.mark.parametrize("name", ["patches_torch", "exits_zero", "reads_reference", "network", "unmounts_the_hiding",
                                  "writes_system_files"])
def test_fooling_attempts_earn_nothing_more_than_honest_zeros(name, zeros_score, tmp_path):
    result = grade(EXERCISE, _filled(name, tmp_path), **LIMITS)
    assert result.score <= zeros_score < result.max_score


def test_exiting_early_is_reported_not_passed():
    result = grade(EXERCISE, HOSTILE / "exits_zero.py", **LIMITS)
    assert any("exited (status 0)" in c.summary for c in result.checks if not c.passed)


@strong
def test_an_orphan_in_a_new_session_does_not_outlive_grading():
    assert not _processes_named("grade-orphan")
    started = time.monotonic()
    result = grade(EXERCISE, HOSTILE / "orphan_daemon.py", **LIMITS)
    assert time.monotonic() - started < 60
    assert result.isolation == wire.LEVEL_NAMESPACES
    time.sleep(0.5)
    assert not _processes_named("grade-orphan"), "a process started by the submission survived grading"


@strong
def test_the_reference_and_the_project_are_invisible(tmp_path):
    result = grade(EXERCISE, _filled("reads_reference", tmp_path), **LIMITS)
    printed = [line for line in result.student_output.splitlines() if line.startswith("FOUND")]
    assert printed and all(line == "FOUND []" for line in printed), printed[:3]


@strong
def test_no_network(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []

    def accept():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not accepted:
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    submission = _filled("network", tmp_path, PORT=str(server.getsockname()[1]))
    result = grade(EXERCISE, submission, **LIMITS)
    accepted.append(None)  # stop the loop
    thread.join(2)
    server.close()
    assert accepted == [None], "the submission reached a listener on 127.0.0.1"
    # Refused at socket() by the system-call filter, or unreachable from the empty network namespace.
    assert any("Operation not permitted" in c.summary or "Network is unreachable" in c.summary
               for c in result.checks)


@strong
def test_writes_outside_the_scratch_directory_land_nowhere(tmp_path):
    grade(EXERCISE, _filled("writes_outside", tmp_path), **LIMITS)
    for folder in (ROOT, Path.cwd(), tmp_path):
        assert not (folder / "PWNED.txt").exists(), f"the submission wrote into {folder}"


@pytest.mark.parametrize("name, message", [
    ("ignores_sigterm_loops", "Exceeded the 2 s time limit"),
    ("loops_at_import", "Exceeded the 2 s time limit while loading your solution"),
    ("sleeps_forever", "Exceeded the 2 s time limit"),
    ("busy_threads", "Exceeded the 2 s time limit"),
    ("eats_memory", "ran out of memory"),
    ("deep_recursion", ("ran out of memory", "Exceeded the 2 s time limit", "segmentation fault")),
    ("floods_output", "Printed more than 8 MiB of output"),
    ("huge_file", "File too large"),
    ("imports_reference", "reference cannot be imported by a submission"),
    ("segfault", "segmentation fault"),
])
def test_hangs_and_crashes_cost_checks_with_a_message_in_bounded_time(name, message):
    started = time.monotonic()
    result = grade(EXERCISE, HOSTILE / f"{name}.py", **LIMITS, memory_mib=1024)
    assert time.monotonic() - started < 60
    messages = (message,) if isinstance(message, str) else message
    summaries = [c.summary for c in result.checks if not c.passed]
    assert any(m in s for s in summaries for m in messages), summaries


@strong
def test_a_fork_storm_is_contained_and_cleaned_up():
    started = time.monotonic()
    result = grade(EXERCISE, HOSTILE / "fork_storm.py", **LIMITS)
    assert time.monotonic() - started < 60
    assert result.score < result.max_score
    time.sleep(0.5)
    assert not _processes_named("grade-storm"), "processes of a fork storm survived grading"


def test_require_isolation_refuses_without_the_strong_sandbox(monkeypatch):
    from grader import api

    monkeypatch.setattr(probe, "strongest_available", lambda: wire.LEVEL_RLIMITS)
    with pytest.raises(api.GradingError, match="strong sandbox is not available") as raised:
        api.grade(exercise_dir=ROOT / "exercises" / EXERCISE, require_isolation=True, report_dir=None)
    assert raised.value.param == "require_isolation"


def test_a_correct_submission_gets_full_marks_under_the_strongest_isolation():
    result = grade(EXERCISE, ROOT / "attention_reference" / "multihead.py")
    assert result.score == result.max_score
    assert result.isolation == probe.strongest_available()
    assert os.path.exists(ROOT / "attention_reference" / "multihead.py")


# -- which folders the namespace sandbox hides (the plan; the mounts are played above) --

def _plan(monkeypatch, tmp_path, *, kept: list[Path], packages: list[Path]) -> list[Path]:
    monkeypatch.setattr(isolation, "_kept", lambda config: kept)
    monkeypatch.setattr(isolation, "_trusted_packages", lambda: packages)
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)
    submission = tmp_path / "class" / "ada" / "solution.py"
    return isolation._hidden({"submission": str(submission), "scratch": str(tmp_path / "scratch")})


def test_a_virtual_environment_inside_the_project_does_not_spare_the_project(monkeypatch, tmp_path):
    # The README makes .venv inside the checkout: the project is still hidden, the venv mounted back.
    venv = ROOT / ".venv"
    hidden = _plan(monkeypatch, tmp_path, kept=[venv, venv / "lib" / "site-packages", tmp_path / "scratch"],
                   packages=[ROOT / "grader", ROOT / "attention_reference"])
    assert ROOT in hidden and tmp_path in hidden
    assert not any(h.is_relative_to(ROOT) and h != ROOT for h in hidden)  # covered by the project's mount


def test_an_installed_copy_of_the_reference_is_hidden_inside_site_packages(monkeypatch, tmp_path):
    site = tmp_path / "venv" / "lib" / "site-packages"
    hidden = _plan(monkeypatch, tmp_path / "work", kept=[tmp_path / "venv", site, tmp_path / "work" / "scratch"],
                   packages=[site / "grader", site / "attention_reference"])
    assert site / "attention_reference" in hidden and site / "grader" in hidden
    assert site not in hidden and tmp_path / "venv" not in hidden


def test_the_system_and_the_interpreter_are_never_hidden(monkeypatch, tmp_path):
    hidden = _plan(monkeypatch, Path("/usr"), kept=[Path(sys.prefix), tmp_path / "scratch"], packages=[])
    assert Path("/usr") not in hidden and Path(sys.prefix) not in hidden


@strong
def test_root_capabilities_are_gone_so_the_hiding_stays(tmp_path):
    # Root in its own mount namespace could otherwise unmount the tmpfs over the project.
    result = grade(EXERCISE, _filled("unmounts_the_hiding", tmp_path), **LIMITS)
    printed = [line for line in result.student_output.splitlines() if line.startswith("ESCAPED")]
    assert printed and all(line == "ESCAPED [] FOUND []" for line in printed), printed[:2]


def test_the_child_holds_no_capabilities():
    # At every level: run the drop in a forked process, as the child does, and read its mask.
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the forked process)
        try:
            privileges.drop_privileges()
            status = Path("/proc/self/status").read_text()
            masks = {line.split(":")[0]: int(line.split()[1], 16) for line in status.splitlines()
                     if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs"))}
            os._exit(0 if masks == {"CapEff": 0, "CapPrm": 0, "CapBnd": 0 if os.geteuid() == 0 else masks["CapBnd"],
                                    "CapAmb": 0, "NoNewPrivs": 1} else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(seccomp.syscall_filter(os.uname().machine) is None,
                    reason="no system-call filter for this machine's architecture")
def test_no_programs_no_unix_sockets_no_processes(tmp_path):
    # At every isolation level: the filter applies whatever the namespaces.
    path = Path(tempfile.mkdtemp(prefix="s", dir="/tmp")) / "sock"  # short: AF_UNIX paths are limited
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(0.1)
    try:
        for level in ("rlimits", "best"):
            result = session.grade_submission(exercise=_limited(), submission=_filled(
                "escapes_by_syscalls", tmp_path, SOCKET=str(path)), isolation=level)
            printed = [line for line in result.student_output.splitlines() if line.startswith("ESCAPED")]
            assert printed and all(line == "ESCAPED []" for line in printed), (level, printed[:2])
            with pytest.raises(OSError):  # nobody knocked
                listener.accept()
    finally:
        listener.close()
        shutil.rmtree(path.parent, ignore_errors=True)


def _limited():
    import dataclasses

    from grader.spec import load_exercise

    exercise = load_exercise(ROOT / "exercises" / EXERCISE)
    return dataclasses.replace(exercise, limits=dataclasses.replace(exercise.limits, **LIMITS))


@strong
@pytest.mark.skipif(os.geteuid() != 0, reason="the grader is not root: the child already is not")
def test_a_child_of_root_runs_as_nobody_and_cannot_plant_files():
    result = grade(EXERCISE, HOSTILE / "writes_system_files.py", **LIMITS)
    printed = {line for line in result.student_output.splitlines() if line.startswith("UID")}
    assert printed == {f"UID {isolation.UNPRIVILEGED} WROTE []"}, printed
    assert not any(Path(p).exists() for p in ("/etc/grade-pwned", "/usr/lib/grade-pwned", "/root/grade-pwned"))
