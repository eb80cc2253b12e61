"""The attacks of a determined student, one class at a time, played for real: each is shown to
work without its defence where that can be done safely, and to be contained with it, at both
isolation levels. (tests/test_hostile.py plays the earlier suite: hangs, crashes, exits.)

Attack files live in tests/corpus/02_multihead/hostile/ and print what they got on lines the
tests read back (``TAKEN {...}``); most define no MultiHeadAttention, so a grading costs well
under a second once the forkserver is warm.
"""

from __future__ import annotations

import dataclasses
import json
import os
import runpy
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, EXERCISES, ROOT, emulate_bpf, in_a_fork
from grader import wire
from grader.run import session
from grader.sandbox import probe
from grader.sandbox.child import inherited, privileges, seccomp
from grader.spec import load_exercise

EXERCISE = "02_multihead"
HOSTILE = CORPUS / EXERCISE / "hostile"
LIMITS = {"call_seconds": 3, "total_seconds": 40}
LEVELS = [wire.LEVEL_RLIMITS, pytest.param(wire.LEVEL_NAMESPACES, marks=pytest.mark.skipif(
    probe.strongest_available() != wire.LEVEL_NAMESPACES, reason="this machine cannot create the namespaces"))]
x86_only = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the attack's call numbers are x86_64's")


def exercise(**limits):
    ex = load_exercise(EXERCISES / EXERCISE)
    return dataclasses.replace(ex, limits=dataclasses.replace(ex.limits, **{**LIMITS, **limits}))


def filled(name: str, folder: Path, **values: str) -> Path:
    source = (HOSTILE / f"{name}.py").read_text()
    for key, value in values.items():
        source = source.replace(f"__{key}__", value)
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


def graded(path: Path, level: str, **limits):
    return session.grade_submission(exercise=exercise(**limits), submission=path, isolation=level)


def reported(text: str, prefix: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith(prefix + " ")]
    assert lines, f"the attack printed no {prefix} line:\n{text[-2000:]}"
    return json.loads(lines[-1][len(prefix) + 1:])


def unsandboxed(path: Path, cwd: Path) -> str:
    """What the attack gets as a plain process of the grader's (the defence off)."""
    done = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(path)!r}, run_name='x')"],
                          capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={**os.environ, "GRADE_TEST_TOKEN": "unsandboxed"})
    return done.stdout


# -- 1 and 4: descriptors, multiprocessing state, the environment -----------------------------

def test_a_child_inherits_no_descriptor_state_or_environment(tmp_path):
    token = secrets.token_hex(8)
    path = filled("takes_what_it_inherits", tmp_path, TOKEN=token)
    levels = [wire.LEVEL_RLIMITS] + ([wire.LEVEL_NAMESPACES]
                                     if probe.strongest_available() == wire.LEVEL_NAMESPACES else [])
    # A grader of its own, with a secret in its environment (its forkserver starts there), at each level.
    code = ("import json, sys\nfrom pathlib import Path\nfrom grader import api\n"
            f"for level in {levels!r}:\n"
            f"    outcome = api.grade(exercise_dir=Path({str(EXERCISES / EXERCISE)!r}), "
            f"submission=Path({str(path)!r}), isolation=level, report_dir=None)\n"
            "    print('RESULT ' + json.dumps(outcome.result.to_dict()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "GRADE_TEST_TOKEN": token})
    results = [json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert [r["isolation"] for r in results] == levels, done.stderr[-3000:]
    for result in results:
        assert token not in json.dumps(result).replace(f"TOKEN__{token}", ""), "the secret reached the result"
        taken = reported(result["student_output"], "TAKEN")
        kinds = {int(fd): kind for fd, kind in taken["fds"].items()}
        # Exactly standard input (/dev/null), the output pipe twice, and its own socket.
        assert len(kinds) == 4 and {0, 1, 2} < set(kinds) and list(kinds.values()).count("socket") == 1, kinds
        assert (kinds[0], kinds[1], kinds[2]) == ("tty", "pipe", "pipe")
        assert taken["tracker_fd"] is None and taken["alive_fd"] is None and not taken["forkserver_address"]
        assert not taken["stdin_writable"] and not taken.get("wrote_to")
        assert not taken["token_in_environ"] and not taken["token_in_proc"]
        assert set(taken["environ_keys"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS"}


def test_without_the_cleaning_a_forked_process_holds_the_graders_descriptors(tmp_path):
    # The defence off: a plain fork holds every descriptor of its parent; with keep_only, only its own.
    read, write = os.pipe()
    spare = os.open(os.devnull, os.O_RDONLY)  # stands for the resource tracker's pipe
    out_read, out_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the forked process)
        try:
            before = inherited.open_descriptors()

            class Conn:
                def __init__(self, fd):
                    self.fd = fd

                def fileno(self):
                    return self.fd

                def close(self):
                    os.close(self.fd)

            inherited.keep_only(Conn(read), Conn(out_write))
            after = inherited.open_descriptors()
            os.write(1, json.dumps({"before": before, "after": after}).encode())
        finally:
            os._exit(0)
    os.close(out_write)
    data = b""
    while chunk := os.read(out_read, 65536):
        data += chunk
    os.waitpid(pid, 0)
    for fd in (read, write, spare, out_read):
        os.close(fd)
    seen = json.loads(data)
    assert spare in seen["before"] and write in seen["before"]
    assert seen["after"] == sorted([0, 1, 2, read])


# -- 2 and 13: scratch shared between children, storage that outlives them ---------------------

@pytest.mark.parametrize("level", LEVELS)
def test_children_share_nothing_and_leave_nothing(level, tmp_path):
    shm_before = _sysv_segments()
    first, second = secrets.token_hex(6), secrets.token_hex(6)
    spied = []
    for mark in (first, second):
        folder = tmp_path / mark
        folder.mkdir()
        spied.append(reported(graded(filled("spies_on_classmates", folder, MARK=mark), level).student_output, "SPIED"))
    # The second child sees nothing the first one left, in any place it looked, nor any scratch copy.
    seen = spied[1]["seen"]
    assert not [n for names in seen.values() if isinstance(names, list) for n in names if first in n], seen
    assert not any(s["seen"]["scratch_glob"] for s in spied), [s["seen"]["scratch_glob"] for s in spied]
    assert all(s == -1 for s in spied[0]["shm"])               # System V IPC refused
    if level == wire.LEVEL_NAMESPACES:
        assert spied[0]["files"] < 2100                         # the private tmpfs holds at most 2048 files
        assert sum(spied[0]["big_mib"].values()) <= 128                # nor more than its 128 MiB
    for place in ("/tmp", "/var/tmp", "/dev/shm"):
        left = [n for n in os.listdir(place) if first in n or second in n]
        assert not left, f"the child left {left} in {place}"
    assert _sysv_segments() == shm_before


def _sysv_segments() -> int:
    try:
        return len(Path("/proc/sysvipc/shm").read_text().splitlines()) - 1
    except OSError:
        return 0


# -- 3: the file system is an allow-list --------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_no_copy_of_the_reference_anywhere_and_no_results_to_write(level, tmp_path):
    clone = Path("/var/tmp") / f"grade-ta-clone-{secrets.token_hex(4)}" / "reference"
    clone.mkdir(parents=True)
    shutil.copy(ROOT / "attention_reference" / "multihead.py", clone / "multihead.py")
    os.chmod(clone.parent, 0o755)
    results = tmp_path / "results"
    results.mkdir()
    os.chmod(results, 0o777)   # even a folder any user may write
    try:
        path = filled("walks_for_the_reference", tmp_path, PLANTED=str(clone / "multihead.py"), RESULTS=str(results))
        # A wall-clock limit well above the walk's own 4 s cap: on a cold file cache the walk must
        # still end and print, not be cut off by the call limit with nothing said.
        walked = reported(graded(path, level, call_seconds=12).student_output, "WALKED")
        assert walked == {"found": [], "planted_readable": False, "wrote_results": False}
        # The defence off: the same code as a plain process reads the planted copy.
        plain = reported(unsandboxed(path, tmp_path), "WALKED")
        assert plain["planted_readable"] and plain["wrote_results"]
    finally:
        shutil.rmtree(clone.parent, ignore_errors=True)


# -- 5: the system-call allow-list ---------------------------------------------------------------

ALWAYS_REFUSED = ("io_uring_setup", "add_key", "keyctl", "bpf", "perf_event_open", "userfaultfd", "ptrace",
                  "process_vm_readv", "inotify_init1", "shmget", "msgget", "mq_open", "kill", "prlimit64",
                  "ioctl", "socketpair", "open_by_handle_at", "memfd_create", "fanotify_init", "pidfd_open",
                  "setpgid", "chmod", "symlink", "link", "fcntl", "sched_setaffinity")


@x86_only
@pytest.mark.parametrize("level", LEVELS)
def test_the_calls_a_deny_list_forgets_are_refused(level, tmp_path):
    answers = reported(graded(HOSTILE / "uses_forbidden_syscalls.py", level).student_output, "SYSCALLS")
    assert set(answers) == set(ALWAYS_REFUSED)
    assert not [name for name, answer in answers.items() if answer == "ok"], answers


@x86_only
def test_without_the_filter_those_calls_go_through(tmp_path):
    plain = _run_main(HOSTILE / "uses_forbidden_syscalls.py", tmp_path)
    got_through = {name for name, answer in plain.items() if answer == "ok"}
    # io_uring (sockets without socket()), the shared keyring, inotify, System V IPC: all open without it.
    assert {"add_key", "inotify_init1", "shmget", "socketpair"} <= got_through, plain


def _run_main(path: Path, cwd: Path) -> dict:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=cwd, timeout=60)
    return reported(done.stdout, "SYSCALLS")


@x86_only
def test_the_filter_alone_refuses_them_in_a_forked_process(tmp_path):
    # The allow-list on its own, in a forked process like the child (no namespaces, no Landlock).
    def body():
        os.chdir(tmp_path)
        privileges.drop_privileges()
        seccomp.restrict_syscalls()
        module = runpy.run_path(str(HOSTILE / "uses_forbidden_syscalls.py"), run_name="probe")
        return module["attempts"](skip=module["DANGEROUS"])

    answers = in_a_fork(body)
    assert answers and not [name for name, answer in answers.items() if answer == "ok"], answers


def test_the_filter_allows_threads_and_self_signals_only():
    program = seccomp.syscall_filter("x86_64", pid=4242)
    allow = 0x7FFF0000
    eperm = 0x00050000 | 1
    assert emulate_bpf(program, 0) == allow                                  # read
    assert emulate_bpf(program, 56, (0x3D0F00, 0)) == allow                  # clone of a thread
    assert emulate_bpf(program, 56, (0x11, 0)) == eperm                      # clone of a process (fork)
    assert emulate_bpf(program, 435) == 0x00050000 | 38                      # clone3: ENOSYS
    assert emulate_bpf(program, 62, (4242, 0)) == allow                      # kill(self)
    assert emulate_bpf(program, 62, (1, 0)) == eperm                         # kill(another)
    assert emulate_bpf(program, 234, (4242, 0)) == allow                     # tgkill(self, ...)
    assert emulate_bpf(program, 302, (0, 0)) == allow                        # prlimit64(0, ...)
    assert emulate_bpf(program, 302, (1, 0)) == eperm                        # prlimit64(another)
    assert emulate_bpf(program, 16, (1, 0x5401)) == allow                    # ioctl TCGETS
    assert emulate_bpf(program, 16, (0, 0x5412)) == 0x00050000 | 25          # ioctl TIOCSTI: ENOTTY
    assert emulate_bpf(program, 72, (3, 4)) == allow                         # fcntl F_SETFL
    assert emulate_bpf(program, 72, (3, 8)) == eperm                         # fcntl F_SETOWN (SIGIO elsewhere)
    assert emulate_bpf(program, 203, (1, 0)) == eperm                        # sched_setaffinity(another)
    for number in (425, 248, 250, 321, 298, 323, 101, 310, 294, 29, 41, 59, 57, 272):
        assert emulate_bpf(program, number) == eperm, number
    assert emulate_bpf(program, 0, arch=0x40000003) == eperm                 # another ABI


# -- 7: links ------------------------------------------------------------------------------------

def test_a_submission_that_is_a_link_is_refused_not_followed(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "absolute.py").symlink_to(ROOT / "attention_reference" / "multihead.py")
    (tmp_path / "elsewhere.py").write_text((ROOT / "attention_reference" / "multihead.py").read_text())
    (klass / "relative.py").symlink_to("../elsewhere.py")
    # The defence off: reading the path as a file follows the link to the reference.
    assert (klass / "absolute.py").read_bytes() == (ROOT / "attention_reference" / "multihead.py").read_bytes()
    for name in ("absolute", "relative"):
        result = graded(klass / f"{name}.py", probe.strongest_available())
        assert result.score == 0
        assert all("is a symbolic link" in c.summary for c in result.checks), result.checks[0].summary
        assert result.load_error and "symbolic link" in result.load_error


def test_a_huge_or_strange_file_is_refused_before_it_is_read(tmp_path):
    from grader.sandbox import source

    huge = tmp_path / "huge.py"
    huge.write_bytes(b"x = 1\n" * (2 << 20))
    started = time.monotonic()
    with pytest.raises(source.SourceRefused, match="MiB; a submission may be at most"):
        source.read_submission(huge)
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    with pytest.raises(source.SourceRefused, match="not a plain file"):
        source.read_submission(fifo)
    assert time.monotonic() - started < 2


# -- 8 and 14: forged replies are the submission's failure ---------------------------------------

@pytest.mark.parametrize("mode", ["alias", "header"])
def test_a_forged_reply_fails_the_submission_never_the_grader(mode, tmp_path):
    result = graded(filled("forges_replies", tmp_path, MODE=mode), probe.strongest_available())
    kinds = {c.kind for c in result.checks if not c.passed}
    assert "internal" not in kinds, [c.summary for c in result.checks if c.kind == "internal"]
    assert any("malformed reply" in c.summary for c in result.checks), [c.summary for c in result.checks]
    assert result.score <= 2   # the constructor check alone (it makes no forward call)


# -- 12: no points from what the child says or from names the scan cannot read ------------------

def test_delegating_by_computed_names_earns_no_protected_points(tmp_path):
    result = graded(HOSTILE / "delegates_by_computed_name.py", probe.strongest_available())
    assert result.score == 0
    unsure = [c for c in result.checks if "cannot rule out a banned call" in c.summary]
    assert unsure, [c.summary for c in result.checks]   # these passed on their values: only the rule took them
    assert result.flags and all("banned-call scan" in f for f in result.flags)


def test_the_op_count_earns_no_points():
    # It is counted inside the child, so it is the child's word: advice only.
    import ast

    source = (EXERCISES / EXERCISE / "checks" / "test_multihead.py").read_text()
    tree = ast.parse(source)
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "test_vectorised")
    marker = next(d for d in check.decorator_list if "points" in ast.unparse(d))
    assert ast.unparse(marker).startswith("pytest.mark.points(0")


# -- 14: time is charged for the student's own calls, and the message names the limit -----------

def test_time_between_calls_is_not_charged_and_the_total_limit_is_named(tmp_path):
    from grader.sandbox.proxy import Student, SubmissionRunner

    path = tmp_path / "slow.py"
    path.write_text("import time\n\ndef softmax(x, dim=-1):\n    time.sleep(0.3)\n    return x\n")
    ex = exercise(call_seconds=0.5, total_seconds=1.2)
    runner = SubmissionRunner(submission=path, limits=ex.limits, isolation=probe.strongest_available())
    try:
        student = Student(runner)
        student.call("softmax", 1.0)
        used = runner.used
        time.sleep(1.0)   # the grader's own work between calls: more than the whole budget
        assert runner.used == used < 1.0
        student.call("softmax", 1.0)          # 0.3 s more: still within the total
        with pytest.raises(Exception) as raised:
            for _ in range(4):
                Student(runner).call("softmax", 1.0)
        assert "that all calls into the submission may take together" in str(raised.value) \
            or "used up the 1.2 s" in str(raised.value), str(raised.value)
    finally:
        runner.close()


def test_a_class_is_refused_at_a_weak_level_unless_named(monkeypatch, tmp_path):
    from grader import api

    monkeypatch.setattr(probe, "strongest_available", lambda: wire.LEVEL_RLIMITS)
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "ada.py").write_text("x = 1\n")
    with pytest.raises(api.GradingError, match="--isolation rlimits") as raised:
        api.grade_class(exercise_dir=EXERCISES / EXERCISE, submissions=klass, report_dir=tmp_path / "r", jobs=1)
    assert raised.value.param == "isolation"
    graded_class = api.grade_class(exercise_dir=EXERCISES / EXERCISE, submissions=klass, report_dir=tmp_path / "r",
                                   isolation=wire.LEVEL_RLIMITS, jobs=1)
    assert graded_class.entries[0].result.isolation == wire.LEVEL_RLIMITS


@pytest.mark.parametrize("head, out", [
    ({"status": "ok", "obj": [2]}, {}),
    ({"status": "ok", "obj": True}, {}),
    ({"status": "ok", "graph": "yes"}, {}),
    ({"status": "ok", "banned": "Tensor.softmax"}, {}),
    ({"status": "pwned"}, {}),
    ({"status": "ok", "info": {"children": {"q": 1}}}, {}),
    ({"status": "ok", "info": {"parameters": {"w": "big"}}}, {}),
    ({"status": "ok"}, {"param_grads": [1]}),
    ({"status": "ok"}, {"inputs_after": {"args": 1}}),
])
def test_a_reply_header_of_the_wrong_shape_is_malformed(head, out):
    from grader.sandbox.reply import checked_reply

    with pytest.raises(wire.WireError):
        checked_reply(head, out)


def test_a_reply_of_the_right_shape_is_kept_and_unknown_fields_dropped():
    from grader.sandbox.reply import checked_reply

    head, out = checked_reply({"status": "ok", "obj": 1, "extra": object()}, {"result": 1, "other": 2})
    assert head == {"status": "ok", "obj": 1} and out == {"result": 1}
