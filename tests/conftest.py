"""Shared helpers for the project's own tests: grading corpus submissions in-process."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import importlib.util
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from grader import errors
from grader.kit import strategies
from grader.run import devices, session
from grader.sandbox.proxy import Student, SubmissionRunner
from grader.spec import Limits, load_exercise

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class CorpusEntry:
    path: Path
    category: str                 # correct, buggy, bad_input, hostile
    fails: tuple[str, ...] = ()   # checks that must fail
    passes: tuple[str, ...] = ()  # checks that must still pass (shows a property is not redundant)
    diagnosis: str | None = None  # text a failing check's diagnosis must contain ("a | b": each of several
                                  # mistakes is named; "none": no name at all)
    message: str | None = None    # text a failing check's summary must contain
    skip_if: str | None = None    # "cuda": the entry's expectations hold only where CUDA is not available
    needs: str | None = None      # "cuda": graded on CUDA alone, where CUDA exists (skipped elsewhere)
    # Provenance of real public code (tests/corpus/<exercise>/external/); a field may span several lines.
    source: str | None = None              # URL, repository and path the code comes from
    commit: str | None = None              # the commit (or date) it was read at
    licence: str | None = None
    adapted: str | None = None             # exactly what was changed to fit the contract
    bug: str | None = None                 # what is wrong, as its authors wrote it ("none" when correct)
    expected_diagnosis: str | None = None  # in plain words, what a correct diagnosis names
    names: tuple[tuple[str, ...], ...] = ()  # per bug (";"), phrases (" | ") a diagnosis naming it contains
    known_gap: str | None = None           # where the current grader's verdict is wrong (an xfail)

    @property
    def id(self) -> str:
        return f"{self.category}/{self.path.stem}"


PROVENANCE = ("source", "commit", "licence", "adapted", "bug", "expected-diagnosis", "names", "known-gap")


def read_entry(path: Path) -> CorpusEntry:
    fields = {}
    for line in path.read_text().splitlines():
        match = re.match(r"#\s*(corpus|fails|passes|diagnosis|message|skip-if|needs|" + "|".join(PROVENANCE)
                         + r"):\s*(.*)", line)
        if not match:
            break
        key, value = match.group(1), match.group(2).strip()
        # a provenance field given on several lines reads as one
        fields[key] = f"{fields[key]} {value}" if key in PROVENANCE and key in fields else value
    names = tuple(tuple(p.strip() for p in group.split(" | ") if p.strip())
                  for group in fields.get("names", "").split(";") if group.strip())
    return CorpusEntry(path=path, category=fields.get("corpus", path.parent.name),
                       fails=tuple(fields.get("fails", "").split()),
                       passes=tuple(fields.get("passes", "").split()),
                       diagnosis=fields.get("diagnosis"), message=fields.get("message"),
                       skip_if=fields.get("skip-if"), needs=fields.get("needs"),
                       source=fields.get("source"), commit=fields.get("commit"), licence=fields.get("licence"),
                       adapted=fields.get("adapted"), bug=fields.get("bug"),
                       expected_diagnosis=fields.get("expected-diagnosis"), names=names,
                       known_gap=fields.get("known-gap"))


@pytest.fixture(autouse=True)
def _the_cpu_unless_a_test_chooses(request, monkeypatch):
    """On a machine with a GPU, grading in this process defaults to the CPU alone (the tests'
    expectations, check ids included, are the CPU's), except in tests marked ``devices``."""
    if torch.cuda.is_available() and request.node.get_closest_marker("devices") is None:
        monkeypatch.setattr(devices, "available", lambda: (devices.CPU,))


def diagnoses_shown(exercise: str) -> list[str]:
    """The ``# diagnosis:`` texts of an exercise's buggy corpus."""
    return [part.strip() for e in corpus(exercise, "buggy") if e.diagnosis and e.diagnosis != "none"
            for part in e.diagnosis.split(" | ")]


def assert_every_mistake_shown(exercise: str, *banks) -> None:
    """Every known mistake's message is the diagnosis of some buggy corpus entry."""
    headers = diagnoses_shown(exercise)
    missing = [m.id for bank in banks for m in bank if not any(h in m.message for h in headers)]
    assert not missing, f"no buggy entry of {exercise} is diagnosed as {missing}"


def corpus(exercise: str, category: str) -> list[CorpusEntry]:
    folder = CORPUS / exercise / category
    return [read_entry(p) for p in sorted(folder.glob("*.py"))]


def grade(exercise: str, submission: Path | None = None, *, seed: int = 0, devices=("cpu",), **limits):
    """Grade ``submission`` against ``exercises/<exercise>`` in this process, on ``devices`` (the
    corpus's expectations are the CPU's unless an entry ``# needs: cuda``)."""
    ex = load_exercise(EXERCISES / exercise)
    if limits:
        ex = dataclasses.replace(ex, limits=dataclasses.replace(ex.limits, **limits))
    return session.grade_submission(exercise=ex, submission=submission, seed=seed, devices=devices)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say why the browser tests were skipped, whatever -r says: a silent skip reads as a pass."""
    reasons = {}
    for report in terminalreporter.stats.get("skipped", []):
        if "browser" in getattr(report, "keywords", {}) and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} browser test{'s' if count != 1 else ''} skipped: {reason}",
                                    yellow=True)


# -- what every exercise's corpus test asserts -------------------------------------------

def failed_checks(result) -> dict:
    return {c.check_id: c for c in result.checks if not c.passed}


def assert_full_marks(result) -> None:
    failed = failed_checks(result)
    assert not failed, {k: (c.summary, c.details) for k, c in failed.items()}
    assert result.score == result.max_score > 0


def assert_loses_the_right_points(entry: CorpusEntry, result) -> None:
    """The entry's ``# fails:`` checks fail, with its ``# diagnosis:`` (and ``# message:``, if any);
    its ``# passes:`` checks pass."""
    if entry.skip_if == "cuda" and torch.cuda.is_available():
        pytest.skip("this entry's mistake shows differently where CUDA is available")
    failed = failed_checks(result)
    assert entry.fails, "a buggy corpus entry must say which checks it fails"
    for check in entry.fails:
        assert check in failed, f"{check} should fail for {entry.id}; failed: {sorted(failed)}"
    # A mistake only advice catches (a check worth no points, such as vectorisation) costs nothing.
    assert result.score < result.max_score or all(failed[c].max_points == 0 for c in entry.fails)
    if entry.diagnosis == "none":  # no known mistake is this one: none may be named
        named = {c.check_id: c.diagnosis for c in failed.values() if c.mistakes}
        assert not named, named
    elif entry.diagnosis:
        diagnoses = [c.diagnosis or "" for c in failed.values()]
        parts = [part.strip() for part in entry.diagnosis.split(" | ")]  # several mistakes: each is named
        for part in parts:
            assert any(part in d for d in diagnoses), (part, diagnoses)
        # Never named wrongly: every check the diagnosis of the whole submission names, it names so.
        wrong = {c.check_id: c.diagnosis for c in failed.values()
                 if c.mistakes and not any(part in c.diagnosis for part in parts)}
        assert not wrong, (entry.diagnosis, wrong)
    if entry.message:
        summaries = [c.summary for c in failed.values()]
        assert any(entry.message in s for s in summaries), (entry.message, summaries)
    for check in entry.passes:
        assert check not in failed, f"{check} should pass for {entry.id}: {failed[check].summary}"
    assert_shown_examples_fail(entry.path.parents[1].name, entry.path, result)


def assert_clear_message(entry: CorpusEntry, result) -> None:
    """A bad submission fails checks with the entry's ``# message:``, never with a grader bug."""
    summaries = [c.summary for c in result.checks if not c.passed]
    assert summaries, "a bad submission must fail checks"
    assert any(entry.message in s for s in summaries), (entry.message, summaries)
    assert not [c for c in result.checks if c.kind == "internal"]


def assert_not_implemented(result) -> None:
    """What a fresh stub gets: 0 points and a friendly message on every check."""
    assert result.score == 0
    assert all(c.kind == "not_implemented" for c in result.checks), [(c.check_id, c.kind, c.summary)
                                                                      for c in result.checks]
    assert all("Not implemented yet" in c.summary or "NotImplementedError" in c.summary for c in result.checks)


def assert_same_grading(first, second) -> None:
    assert [(c.check_id, c.points, c.summary, c.example) for c in first.checks] == \
           [(c.check_id, c.points, c.summary, c.example) for c in second.checks]


# -- the failing example a report shows really fails that way ---------------------------------

SHOWN = re.compile(r"^(?:Falsifying example|Failing test case): ", re.M)


def shown_arguments(example: str) -> tuple[str, dict]:
    """(check name, keyword arguments) of the example a report shows, evaluated back into objects."""
    call = ast.parse(SHOWN.sub("", example.strip(), count=1), mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), example
    names = {**vars(strategies), "torch": torch, "inf": math.inf, "nan": math.nan}
    return call.func.id, {kw.arg: eval(compile(ast.Expression(kw.value), "<example>", "eval"), names)
                          for kw in call.keywords}


@functools.cache
def check_function(exercise: str, name: str):
    for path in sorted((EXERCISES / exercise / "checks").glob("test_*.py")):
        module_name = f"checks_{exercise}_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(f"no check {name} in {exercise}")


def rerun_shown(exercise: str, submission: Path, example: str) -> BaseException | None:
    """Run one check by hand, once, on the example a report shows, against a fresh child."""
    name, kwargs = shown_arguments(example)
    ex = load_exercise(EXERCISES / exercise)
    runner = SubmissionRunner(submission=submission, limits=ex.limits, banned=ex.banned)
    try:
        check_function(exercise, name).hypothesis.inner_test(student=Student(runner), **kwargs)
    except (errors.StudentError, AssertionError) as error:
        return error
    finally:
        runner.close()
    return None


def assert_shown_examples_fail(exercise: str, submission: Path, result) -> None:
    """Every failed check's shown example, rerun by hand, fails with the summary the report shows.

    (Not where the submission is random: its answer to one input changes from call to call.)
    """
    for check in result.checks:
        if check.passed or not check.example or check.kind in ("sandbox", "banned", "internal") \
                or "nondeterministic" in check.mistakes:
            continue
        error = rerun_shown(exercise, submission, check.example)
        assert error is not None, f"{check.check_id}: the shown example passes when rerun:\n{check.example}"
        summary = getattr(error, "summary", None) or str(error).split("\n")[0]
        assert summary == check.summary, (check.check_id, summary, check.summary, check.example)


@contextlib.contextmanager
def sandboxed(folder: Path, source: str, *, isolation: str = "rlimits", limits: Limits | None = None):
    """A proxy to ``source`` (written as ``folder/solution.py``) in a sandboxed child of its own, ended after."""
    path = folder / "solution.py"
    path.write_text(source)
    runner = SubmissionRunner(submission=path, limits=limits or Limits(), isolation=isolation)
    try:
        yield Student(runner)
    finally:
        runner.close()


def in_a_fork(body) -> dict:
    """Run ``body()`` in a forked process (the sandbox's child is one); return the dict it returns, as JSON."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the forked process)
        try:
            os.write(write, json.dumps(body()).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


AUDIT_ARCH_X86_64 = 0xC000003E


def emulate_bpf(program, nr: int, args=(0, 0, 0, 0), arch: int = AUDIT_ARCH_X86_64) -> int:
    """Run a seccomp BPF program (the classic BPF the sandbox's filter uses, AND included) on one
    system call ``nr`` with ``args``; return the action it gives."""
    data = {0: nr, 4: arch, **{16 + 8 * i: a & 0xFFFFFFFF for i, a in enumerate(args)}}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:
            acc = data[k]
        elif code == 0x54:
            acc &= k
        elif code == 0x06:
            return k
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x35:
            pc += jt if acc >= k else jf
        elif code == 0x45:
            pc += jt if acc & k else jf
        else:
            raise AssertionError(f"unknown BPF instruction {code:#x}")
        pc += 1
