"""The pytest plugin that turns an exercise's checks into graded results.

Checks are ordinary pytest tests in ``exercises/<id>/checks/``. This plugin gives
them a ``student`` fixture (a :class:`grader.sandbox.proxy.Student`), reads their points
from ``@pytest.mark.points(N)``, and turns each outcome into a
:class:`grader.results.CheckResult`. Hypothesis runs with a fixed seed, no
deadline and no example database, so grading is deterministic.

After the last check, the submission is diagnosed as a whole (:func:`diagnose_all`): the
known mistake, or pair, that reproduces every answer the checks recorded, right and wrong,
is the diagnosis of each failed check it explains.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from grader import errors, results
from grader.kit import diagnose, strategies
from grader.run import devices as devices_, replay
from grader.sandbox.proxy import Student, SubmissionRunner
from grader.spec import Exercise

PROFILE = "grading"
MAX_EXAMPLES = 25

settings.register_profile(
    PROFILE,
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=False,  # the seed comes from --hypothesis-seed, so --seed can change the examples
    report_multiple_bugs=False,
    print_blob=False,
    # No explain phase: it reruns the failing example many times for a note we don't show.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)


def _draw_no_constants_from_local_source() -> None:
    """Stop Hypothesis mining constants from the source of 'local' modules.

    Hypothesis (6.131 and later) parses every loaded module outside site-packages
    and now and then draws the literals it finds there. For grading that costs
    about 0.15 s per process, and it makes the examples depend on which modules
    happen to be loaded: a submission graded alone and the same one graded later
    in a batch could see different inputs. Inputs come from the strategies alone.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - an older Hypothesis has no such mining
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants"):
        empty = providers.Constants()
        providers._get_local_constants = lambda: empty


_draw_no_constants_from_local_source()

MSG_BANNED = "Uses {calls}, which this exercise does not allow; the check's points are withheld."
MSG_UNSURE = ("The grader cannot rule out a banned call: the solution {reason}. This exercise bans some calls, "
              "so the check's points are withheld.")
HINT_UNSURE = "Write the computation with plain tensor operations, naming every function directly."
MSG_BANNED_MISSING = ("Imports {calls}, which this exercise does not allow (and which is not installed here, so "
                      "the file could not even load); the check's points are withheld.")
DIAGNOSIS_BANNED = "Your code calls {calls}, which this exercise does not allow: the point is to write it yourself."
MSG_INTERNAL = "The check itself broke ({error}); this is a grader bug, not your mistake. Please report it."
MSG_NO_POINTS = "{check} has no @pytest.mark.points(N) marker."
MSG_SAME_NAME = ("two checks are both named {check} ({first} and {second}); "
                 "rename one (a check's name is its column in the gradebook).")
HIDDEN_MARKER = "hidden"  # @pytest.mark.hidden or @pytest.mark.hidden("masking"): students see only the count


class ChecksError(ValueError):
    """The checks themselves cannot be run as given (two with one name, ...); the message says which."""

student_key = pytest.StashKey[Student]()
started_key = pytest.StashKey[float]()


@dataclass
class GradingSession:
    """State of one grading run, shared by the hooks (kept in the plugin object)."""

    exercise: Exercise
    runner: SubmissionRunner
    static_banned: tuple[str, ...] = ()
    static_unsure: tuple[str, ...] = ()   # what the scan could not rule out, one sentence each
    extra_dirs: tuple[Path, ...] = ()  # the instructor's --extra-checks folders: every check there is hidden
    checks: list[results.CheckResult] = field(default_factory=list)
    collision: str | None = None       # set when two checks share a name (grading stops with it)
    findings: dict[str, diagnose.Findings] = field(default_factory=dict)  # check id -> what it recorded
    devices: tuple[str, ...] = ("cpu",)  # with more than one, each check runs on each (grader.run.devices)
    replay: bool = True   # replay the examples a check passed on earlier in this process (grader.run.replay)
    saved_records: bool = True   # and those saved by earlier processes in the user's cache folder


class GradingPlugin:
    def __init__(self, session: GradingSession) -> None:
        self.session = session

    # -- lifecycle -------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n, group='correctness'): points the check is worth")
        config.addinivalue_line("markers", "hidden(category=None): students see the check only by category and "
                                           "count, never its title, inputs or expected values")
        settings.load_profile(PROFILE)

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        seen: dict[str, pytest.Item] = {}
        for item in items:
            if item.name in seen and self.session.collision is None:
                self.session.collision = MSG_SAME_NAME.format(check=item.name, first=seen[item.name].path,
                                                              second=item.path)
            seen.setdefault(item.name, item)
        if self.session.collision:
            items.clear()  # grade nothing: the gradebook could not tell the two apart

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """With more than one device, every check that uses ``device`` (``student`` does) runs on each."""
        if len(self.session.devices) > 1 and "device" in metafunc.fixturenames:
            metafunc.parametrize("device", self.session.devices, ids=list(self.session.devices), indirect=True)

    @pytest.fixture
    def device(self, request: pytest.FixtureRequest):
        """The device this run of the check is on: the kit's bundles give tensors there, and the
        grader's own reference runs there with the settings the child uses."""
        name = getattr(request, "param", self.session.devices[0])
        with strategies.on_device(name), devices_.cuda_settings((name,)):
            yield name

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest, device: str) -> Student:
        proxy = Student(self.session.runner, device=device)
        request.node.stash[student_key] = proxy
        return proxy

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[started_key] = time.monotonic()
        diagnose.begin()

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Run a Hypothesis check: its recorded runs first, when an earlier submission passed it or
        failed it (:mod:`grader.run.replay`); under Hypothesis when its examples do not all end as in
        one of them, or nothing is recorded (then the run is recorded: passed, or failed and shrunk)."""
        student = pyfuncitem.funcargs.get("student")
        if not (self.session.replay and isinstance(student, Student) and replay.replayable(pyfuncitem)):
            return None
        fixtures = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        key = replay.key_of(pyfuncitem, pyfuncitem.config.getoption("hypothesis_seed", None), self.session.devices)
        runs = replay.traces(key, saved=self.session.saved_records)
        runner = self.session.runner
        if runs:
            runner.start_recording()
            try:
                outcome = replay.replay(pyfuncitem, runs, fixtures)
            finally:
                tape = runner.stop_recording()
            if outcome.passed:
                return True
            if outcome.failed:   # every example ended as in a recorded failing run: Hypothesis ends so too
                for note in outcome.notes:
                    outcome.error.add_note(note)
                raise outcome.error
            if _fails_for_every_input(outcome, student, tape):
                student._raise_fatal()   # what Hypothesis would end with, after shrinking for nothing
            # Nothing of the replay is kept: a fresh student, nothing observed, its requests answered again.
            student.__init__(runner, device=student.device)
            diagnose.begin()
            runner.serve(tape)
        with replay.recording(pyfuncitem, fixtures) as drawn:
            try:
                pyfuncitem.obj(**fixtures)
            except BaseException as error:
                trace = drawn.failed_as(error)
                if trace is not None:
                    replay.keep_failure(key, trace, save=self.session.saved_records)
                raise
            finally:
                runner.serve(None)
        if drawn.usable and drawn.examples and replay.recorded(key, saved=False) is None:
            replay.keep(key, drawn.examples, save=self.session.saved_records)
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if call.when == "call" or (call.when == "setup" and report.failed):
            duration = time.monotonic() - item.stash.get(started_key, time.monotonic())
            self.session.checks.append(self.result_of(item, call, duration))
            self.session.findings[item.name] = diagnose.take()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.session.checks[:] = diagnose_all(self.session.checks, self.session.findings)

    # -- turning an outcome into a result -------------------------------------
    def result_of(self, item: pytest.Item, call: pytest.CallInfo, duration: float) -> results.CheckResult:
        marker = item.get_closest_marker("points")
        if marker is None:
            return _internal(item, MSG_NO_POINTS.format(check=item.name), 0.0, duration)
        device = _device_of(item)
        max_points = float(marker.args[0])
        if device is not None:
            max_points = devices_.split_points(max_points, self.session.devices)
        group = marker.kwargs.get("group", "correctness")
        hidden, category = self.visibility(item)
        base = dict(check_id=item.name, title=_title(item), max_points=max_points, duration=duration,
                    group=group, hidden=hidden, category=category, device=device or devices_.CPU)
        proxy = item.stash.get(student_key, None)
        if proxy is not None:
            base["curves"] = tuple(proxy.curves)
            if proxy.advice and call.excinfo is not None:
                base["advice"] = " ".join(proxy.advice)
        if call.excinfo is None:
            used = banned_names(self.session.static_banned, proxy.banned_hits if proxy else ())
            if used:
                return results.CheckResult(**base, points=0.0, status=results.FAILED, kind=results.KIND_BANNED,
                                           summary=MSG_BANNED.format(calls=", ".join(used)),
                                           diagnosis=DIAGNOSIS_BANNED.format(calls=", ".join(used)),
                                           hint="Write the computation yourself from basic tensor operations.")
            if self.session.static_unsure:
                return results.CheckResult(**base, points=0.0, status=results.FAILED, kind=results.KIND_BANNED,
                                           summary=MSG_UNSURE.format(reason=self.session.static_unsure[0]),
                                           details="\n".join(self.session.static_unsure), hint=HINT_UNSURE)
            return results.CheckResult(**base, points=max_points, status=results.PASSED,
                                       summary=" ".join(proxy.notes) if proxy else "",
                                       advice=" ".join(proxy.advice) if proxy and proxy.advice else None)
        error = _unwrap(call.excinfo.value)
        example = None if getattr(error, "for_every_input", False) else _example(error)
        missing = _banned_module_missing(error, self.session.static_banned)
        if missing:  # the ban, not an import error: importing it is what the exercise does not allow
            return results.CheckResult(**base, points=0.0, status=results.FAILED, kind=results.KIND_BANNED,
                                       summary=MSG_BANNED_MISSING.format(calls=", ".join(missing)),
                                       diagnosis=DIAGNOSIS_BANNED.format(calls=", ".join(missing)),
                                       hint="Write the computation yourself from basic operations.")
        if isinstance(error, errors.CheckFailure):
            return results.CheckResult(
                **base, points=0.0, status=results.FAILED, kind=error.kind, summary=error.summary,
                details=error.details, diagnosis=error.diagnosis, hint=error.hint, mismatch=error.mismatch,
                figures=error.figures, example=example)
        if isinstance(error, errors.StudentError):
            diagnosis = error.diagnosis
            if diagnosis is None and isinstance(error, errors.StudentException):
                source = error.frames[-1].source if error.frames else None
                diagnosis = diagnose.for_error(error.message, source)  # a known mistake, named from its error
            return results.CheckResult(
                **base, points=0.0, status=results.FAILED, kind=error.kind, summary=error.summary,
                details=error.details, hint=error.hint, traceback=error.frames, example=example,
                diagnosis=diagnosis)
        if isinstance(error, AssertionError):
            return results.CheckResult(**base, points=0.0, status=results.FAILED, kind=results.KIND_WRONG,
                                       summary=str(error).split("\n")[0][:500], details=str(error)[:4000],
                                       example=example)
        return _internal(item, MSG_INTERNAL.format(error=f"{type(error).__name__}: {error}"[:500]),
                         max_points, duration, group=group, hidden=hidden, category=category,
                         device=base["device"])

    def visibility(self, item: pytest.Item) -> tuple[bool, str]:
        """(hidden, category): hidden when marked so or when it comes from an --extra-checks folder."""
        marker = item.get_closest_marker(HIDDEN_MARKER)
        path = Path(str(item.path)).resolve()
        extra = any(path.is_relative_to(folder) for folder in self.session.extra_dirs)
        if marker is None and not extra:
            return False, ""
        category = ""
        if marker is not None:
            category = str(marker.kwargs.get("category") or (marker.args[0] if marker.args else "") or "")
        return True, category


def _fails_for_every_input(outcome: replay.Outcome, student: Student, tape: list) -> bool:
    """Whether the check fails with the same error whatever its input: the first request of its first
    example raised an error that stands for every call of the check (the file does not load, a name is
    missing, the time is spent), with nothing answered or shown before it.

    Under Hypothesis every example, shrunk or not, then raises that one error at its first request,
    and the result shows no example for it (``for_every_input``): it is the same result, without the
    shrinking.
    """
    return (outcome.stopped_at == 0 and outcome.error is not None and outcome.error is student._fatal
            and len(tape) == 1 and not (student.notes or student.curves or student.advice))


def diagnose_all(checks: list[results.CheckResult],
                 findings: dict[str, diagnose.Findings]) -> list[results.CheckResult]:
    """The checks, each failed one with the diagnosis of the whole submission where it explains it.

    One combination of known mistakes (one, else a pair) that reproduces every recorded answer
    names every failed check that recorded a wrong answer. Failing that, each such check gets
    the combination that reproduces its own wrong answers and every right answer of every check
    (never a mistake that a passed check rules out), or no name. Randomness (one input answered
    two ways) is named first on every failed check; the mistakes are then looked for among the
    answers randomness did not touch (given with dropout held off, or the same twice, or right).
    """
    random = any(f.nondeterministic for f in findings.values())
    usable = {cid: [o for o in f.observations if diagnose.usable(o, random)] for cid, f in findings.items()}
    wrong_in = {cid: [o for o in found if o.wrong] for cid, found in usable.items()}
    recorded = {cid for cid, f in findings.items() if f.nondeterministic or any(o.wrong for o in f.observations)}
    # Every wrong answer of a random submission is suspect, whichever check saw it.
    failed = [c for c in checks if not c.passed and (c.check_id in recorded or
                                                     (random and c.kind == results.KIND_WRONG))]
    if not failed:
        return checks
    named: dict[str, tuple[str | None, str | None, tuple[str, ...]]] = {}
    everything = [o for found in usable.values() for o in found]
    found = diagnose.explain(everything)
    if len(found) == 1:  # each failed check is told the part of the combination its answers show
        for check in failed:
            wrong = wrong_in.get(check.check_id, [])
            part = diagnose.part_shown(found[0], wrong) if wrong else ()
            text, hint = diagnose.describe_combinations([part]) if part else (None, None)
            named[check.check_id] = (text, hint, tuple(m.id for m in part))
    elif found:
        text, hint = diagnose.describe_combinations(found)
        named = {c.check_id: (text, hint, ()) if wrong_in.get(c.check_id) else (None, None, ()) for c in failed}
    else:
        right = [o for o in everything if not o.wrong]
        for check in failed:
            own = diagnose.explain_check(wrong_in.get(check.check_id, []), right)
            text, hint = diagnose.describe_combinations(own)
            ids = tuple(m.id for m in own[0]) if len(own) == 1 else ()
            named[check.check_id] = (text, hint, ids)
    if random:
        named = {cid: diagnose.with_randomness(*said) for cid, said in named.items()}
    for cid, (text, hint, ids) in list(named.items()):
        raised = [e for e in getattr(findings.get(cid), "errors", []) if not text or e not in text]
        if raised and text:
            named[cid] = (diagnose.MSG_RAISES.format(text=text, errors=" ".join(raised)), hint, ids)
    out = []
    for check in checks:
        if check.check_id in named:
            text, hint, ids = named[check.check_id]
            if text and check.kind == results.KIND_STUDENT_ERROR and not (check.diagnosis and check.diagnosis in text):
                # the check failed with an error (perhaps named from it): what the answers it gave to other
                # inputs show is said beside it, never as the error's cause
                text = (diagnose.MSG_ERROR_AND.format(error=check.diagnosis, text=text) if check.diagnosis
                        else diagnose.MSG_ELSEWHERE.format(text=text))
            check = dataclasses.replace(check, diagnosis=text or check.diagnosis, mistakes=ids,
                                        hint=hint if hint else check.hint)
        out.append(check)
    return out


def banned_names(static: tuple[str, ...], hits) -> list[str]:
    """The banned calls to name: those the source calls (the static scan), else those that ran.

    A call the source makes may run others that are banned too (F.softmax runs Tensor.softmax):
    the student is told what they wrote.
    """
    return sorted(set(static)) if static else sorted(set(hits))


def _banned_module_missing(error: BaseException, static: tuple[str, ...]) -> list[str]:
    """The banned calls whose module is not installed, when that is why the file did not load."""
    if not static or not isinstance(error, errors.SubmissionLoadError):
        return []
    match = re.search(r"No module named '([\w.]+)'", error.summary)
    if not match:
        return []
    root = match.group(1).split(".")[0]
    return sorted(name for name in set(static) if name.split(".")[0] == root)


def _internal(item, summary, max_points, duration, group="correctness", hidden=False,
              category="", device=devices_.CPU) -> results.CheckResult:
    return results.CheckResult(check_id=item.name, title=_title(item), points=0.0, max_points=max_points,
                               status=results.FAILED, kind=results.KIND_INTERNAL, summary=summary,
                               duration=duration, group=group, hidden=hidden, category=category, device=device)


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    first = doc.strip().split("\n")[0].strip()
    title = first or getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ").capitalize()
    device = _device_of(item)
    return title if device is None else devices_.titled(title, device)


def _device_of(item: pytest.Item) -> str | None:
    """The device a check runs on when it runs on several (None: the only one)."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("device") if callspec is not None else None


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _example(error: BaseException) -> str | None:
    """The falsifying example Hypothesis attached to ``error``, without the fixtures and without
    Hypothesis's own advice (the one place an example is cleaned: every output shows it as is)."""
    notes = [n for n in getattr(error, "__notes__", ()) if isinstance(n, str)]
    lines = []
    for note in notes:
        if note.startswith(("You can", "Trying", "Explanation")):
            continue
        lines += [line for line in note.splitlines() if not line.strip().startswith("student=")]
    text = "\n".join(lines).strip()
    return text[:3000] or None
