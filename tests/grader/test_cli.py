"""The `grade` command as users call it: exit codes, summary, results.json, reports, batch."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import CORPUS, EXERCISES, ROOT
from grader.cli import main

CORRECT = CORPUS / "02_multihead" / "correct" / "einsum.py"
BUGGY = CORPUS / "02_multihead" / "buggy" / "no_scale.py"


def test_a_correct_submission_exits_0_with_full_marks_and_a_report(tmp_path):
    runner = CliRunner()
    results = tmp_path / "results.json"
    outcome = runner.invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(CORRECT),
                                   "--results-json", str(results), "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    score = re.search(r"Score: (\d+)/(\d+)", outcome.output)
    assert score and score.group(1) == score.group(2) and "(all checks passed)" in outcome.output
    assert (tmp_path / "out" / "02_multihead.html").is_file()
    data = json.loads(results.read_text())
    assert data["score"] == data["max_score"] == int(score.group(2))
    assert {t["status"] for t in data["tests"]} == {"passed"}
    assert {"name", "score", "max_score", "status", "output", "number", "tags", "visibility"} <= set(data["tests"][0])
    assert {"execution_time", "output", "visibility", "stdout_visibility"} <= set(data)


def test_a_wrong_submission_exits_1_and_says_why(tmp_path):
    results = tmp_path / "results.json"
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(BUGGY),
                                        "--results-json", str(results), "--report-dir", str(tmp_path)])
    assert outcome.exit_code == 1, outcome.output
    assert "FAIL" in outcome.output and "not divided by sqrt(d_k)" in outcome.output
    data = json.loads(results.read_text())
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 for t in failed)
    assert any("Likely mistake" in t["output"] for t in failed)
    assert data["score"] == sum(t["score"] for t in data["tests"]) < data["max_score"]


@pytest.mark.parametrize("args, message", [
    (["no/such/exercise"], "no such folder"),
    ([str(ROOT / "attention_reference")], "not an exercise"),
    ([str(EXERCISES / "02_multihead"), "--submission", "missing.py"], "no such file"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 2
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("grade: error:")


def test_the_grade_script_runs_as_a_real_process(tmp_path):
    """The console script, in a subprocess, from another working directory. It ends without tearing
    its interpreter down (grader.cli.entry), yet its output is all there and its exit handlers ran:
    the scratch folder Hypothesis had is gone."""
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    hook = tmp_path / "hook"   # the grade process says where Hypothesis's scratch folder was
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import atexit, sys\n"
        "def _say():\n"
        "    session = sys.modules.get('grader.run.session')\n"
        "    if session is not None:\n"
        "        print('SCRATCH ' + session._scratch_hypothesis_home(), file=sys.stderr)\n"
        "atexit.register(_say)\n")
    done = subprocess.run([*exe.split(), str(EXERCISES / "02_multihead"), "--submission", str(BUGGY), "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 1, done.stderr
    assert re.fullmatch(r"02_multihead: \d+/\d+", done.stdout.strip())
    assert (tmp_path / "reports" / "02_multihead.html").is_file()
    scratch = [line.split(" ", 1)[1] for line in done.stderr.splitlines() if line.startswith("SCRATCH ")]
    assert len(scratch) == 1 and not os.path.exists(scratch[0])   # removed by its exit handler


def test_batch_grades_a_class_and_resumes(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(CORRECT, klass / "alice.py")
    (klass / "bob").mkdir()
    shutil.copy(BUGGY, klass / "bob" / "solution.py")
    (klass / "notes.txt").write_text("not a submission")
    out = tmp_path / "reports"
    runner = CliRunner()
    first = runner.invoke(main, ["class", str(EXERCISES / "02_multihead"), str(klass), "--report-dir", str(out)])
    assert first.exit_code == 0, first.output
    assert "2 graded, 0 could not be graded, 1 skipped" in first.output
    assert re.search(r"\[[12]/2\] alice: (\d+)/\1 ", first.output) and re.search(r"\[[12]/2\] bob:", first.output)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert rows[0]["student"] == "alice" and rows[0]["score"] == rows[0]["max_score"]
    assert rows[1]["student"] == "bob" and float(rows[1]["score"]) < float(rows[1]["max_score"])
    assert (out / "index.html").is_file() and (out / "students" / "alice" / "02_multihead.html").is_file()
    second = runner.invoke(main, ["class", str(EXERCISES / "02_multihead"), str(klass), "--report-dir", str(out)])
    assert second.exit_code == 0 and second.output.count("(unchanged, kept)") == 2


def test_a_class_of_an_empty_folder_exits_2(tmp_path):
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "02_multihead"), str(tmp_path),
                                        "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 2 and "no submissions found" in outcome.output


def test_the_old_batch_option_still_grades_a_class_and_prints_the_new_form(tmp_path):
    klass = _class_of(tmp_path / "class", alice=CORRECT)
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--batch", str(klass), "-j", "1",
                                        "--report-dir", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    assert f"Use: grade class {EXERCISES / '02_multihead'} {klass}" in outcome.output
    assert "1 graded, 0 could not be graded, 0 skipped" in outcome.output
    assert (tmp_path / "out" / "grades.csv").is_file()


def test_help_names_the_verbs_and_version_prints_it():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0 and all(verb in top.output for verb in ("solution*", "class", "list"))
    one = runner.invoke(main, [str(EXERCISES / "02_multihead"), "--help"])
    assert one.exit_code == 0 and "--submission" in one.output and "--watch" in one.output
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"grade \d+\.\d+\.\d+\n", version.output)


def test_list_shows_every_exercise_with_its_title():
    outcome = CliRunner().invoke(main, ["list", str(EXERCISES)])
    assert outcome.exit_code == 0, outcome.output
    for folder in sorted(EXERCISES.iterdir()):
        if (folder / "exercise.toml").is_file():
            assert folder.name in outcome.output
    assert "Multi-head attention" in outcome.output


def test_list_of_a_folder_without_exercises_exits_2(tmp_path):
    outcome = CliRunner().invoke(main, ["list", str(tmp_path)])
    assert outcome.exit_code == 2 and "no exercises here" in outcome.output


def _class_of(folder, **submissions):
    folder.mkdir()
    for student, source in submissions.items():
        shutil.copy(source, folder / f"{student}.py")
    return folder


def _batch(args, cwd, **kwargs):
    """``grade class 02_multihead CLASS ...`` in a real process (args start with the class folder)."""
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    return subprocess.run([*exe.split(), "class", str(EXERCISES / "02_multihead"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, **kwargs)


def _verdicts(report_dir, student):
    saved = json.loads((report_dir / "saved" / f"{student}.json").read_text())["result"]
    return [(c["check_id"], c["status"], c["points"], c["summary"], c["diagnosis"], c["example"])
            for c in saved["checks"]]


def test_a_parallel_batch_gives_every_student_the_same_result_as_one_at_a_time(tmp_path):
    """Oversubscribed on purpose: more workers than students and cores, on a machine kept busy."""
    klass = _class_of(tmp_path / "class", ada=CORRECT, bob=BUGGY,
                      cy=CORPUS / "02_multihead" / "buggy" / "softmax_query_axis.py",
                      dee=CORPUS / "02_multihead" / "bad_input" / "syntax_error.py")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        parallel = _batch([str(klass), "-j", "6", "--report-dir", "par"], tmp_path)
    finally:
        for burner in busy:
            burner.kill()
            burner.wait()
    assert parallel.returncode == 0, parallel.stderr
    assert "4 graded, 0 could not be graded, 0 skipped" in parallel.stdout
    assert sorted(re.findall(r"\[(\d)/4\]", parallel.stderr)) == ["1", "2", "3", "4"]
    serial = _batch([str(klass), "-j", "1", "--report-dir", "ser"], tmp_path)
    assert serial.returncode == 0, serial.stderr
    for student in ("ada", "bob", "cy", "dee"):
        assert _verdicts(tmp_path / "par", student) == _verdicts(tmp_path / "ser", student), student
    assert (tmp_path / "par" / "grades.csv").read_text() == (tmp_path / "ser" / "grades.csv").read_text()


def _ctrl_c_reaches_it() -> None:
    """Run in the child before ``grade`` starts: Ctrl-C acts as it does on a terminal's foreground job.
    Started from a shell's background job (``.ci/run &``), every process has SIGINT ignored, and
    ``grade`` rightly keeps that: Python installs no KeyboardInterrupt where SIGINT is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupted_batch_keeps_what_it_graded_and_resumes(tmp_path):
    klass = _class_of(tmp_path / "class", **{f"s{n}": CORRECT for n in range(6)})
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    process = subprocess.Popen([*exe.split(), "class", str(EXERCISES / "02_multihead"), str(klass),
                                "--jobs", "2", "--report-dir", "out"], cwd=tmp_path, stderr=subprocess.PIPE,
                               text=True, stdout=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_ctrl_c_reaches_it)
    assert process.stderr.readline().startswith("Grading 6 submissions of 02_multihead, 2 at a time")
    first = re.match(r"\[1/6\] (s\d): (\d+)/\2 in ", process.stderr.readline())
    assert first, "no progress line"
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert "run the same command again" in rest
    resumed = _batch([str(klass), "--report-dir", "out"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{first.group(1)}: {first.group(2)}/{first.group(2)} (unchanged, kept)" in resumed.stderr
    assert "6 graded, 0 could not be graded, 0 skipped" in resumed.stdout


def test_jobs_without_batch_is_refused(tmp_path):
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--submission", str(CORRECT), "-j", "2"])
    assert outcome.exit_code == 2 and "--jobs applies only to a class: grade class" in outcome.output


def test_watch_grades_again_on_every_save_and_stops_on_ctrl_c(tmp_path):
    solution = tmp_path / "solution.py"
    shutil.copy(BUGGY, solution)
    exe = shutil.which("grade") or f"{sys.executable} -m grader"
    process = subprocess.Popen([*exe.split(), str(EXERCISES / "02_multihead"), "--submission", str(solution),
                                "--watch", "-q", "--report-dir", "out"], cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_ctrl_c_reaches_it)
    try:
        first = process.stdout.readline().strip()
        assert re.fullmatch(r"02_multihead: (\d+)/(\d+)", first) and "Watching" in process.stderr.readline()
        score, total = re.fullmatch(r"02_multihead: (\d+)/(\d+)", first).groups()
        assert score != total
        solution.write_text(CORRECT.read_text())  # the student fixes it and saves
        assert "changed, grading again" in process.stdout.readline() + process.stdout.readline()
        again = process.stdout.readline().strip()
        assert again == f"02_multihead: {total}/{total}", again
        assert "Watching" in process.stderr.readline()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 0  # the last grade passed


@pytest.mark.parametrize("option", [["--watch"], ["--submission", str(CORRECT)], ["--results-json", "r.json"]])
def test_options_for_one_submission_do_not_go_with_batch(tmp_path, option):
    outcome = CliRunner().invoke(main, [str(EXERCISES / "02_multihead"), "--batch", str(tmp_path), *option])
    assert outcome.exit_code == 2 and f"{option[0]} is for one submission" in outcome.output


def test_help_names_the_instructors_verbs():
    top = CliRunner().invoke(main, ["--help"])
    assert top.exit_code == 0 and all(verb in top.output for verb in ("gradescope", "handout", "init"))
    klass = CliRunner().invoke(main, ["class", "--help"])
    for option in ("--roster", "--gradebook", "--extra-checks", "--junit", "--scheduler", "--layout", "--seed"):
        assert option in klass.output
    assert "Canvas" in klass.output and "Moodle" in klass.output and "Gradescope" in klass.output


@pytest.mark.parametrize("args, message", [
    (["class", str(EXERCISES / "01_softmax"), "missing.zip"], "missing.zip: no such folder or archive"),
    (["class", str(EXERCISES / "01_softmax"), "notes.txt"], "not a folder or an archive"),
    (["class", str(EXERCISES / "01_softmax"), ".", "--roster", "missing.csv"], "--roster missing.csv: cannot read"),
    (["class", str(EXERCISES / "01_softmax"), ".", "--seed", "soon"], "--seed soon: give a whole number"),
    (["class", str(EXERCISES / "01_softmax"), ".", "--extra-checks", "."], "no checks in it"),
    (["gradescope", str(EXERCISES / "01_softmax"), "-o", "bundle.tar"], "--output bundle.tar: the bundle is a zip"),
    (["handout", str(EXERCISES / "01_softmax"), "-o", "full"], "already there and not empty"),
    (["init", "notes.txt"], "notes.txt: not a folder"),
    (["init", ".", "99_nothing"], "no shipped exercise called 99_nothing"),
    ([str(EXERCISES / "01_softmax"), "--extra-checks", "nowhere"], "--extra-checks nowhere: no such folder"),
])
def test_instructors_mistakes_exit_2_with_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    (tmp_path / "notes.txt").write_text("")
    outcome = CliRunner().invoke(main, args)
    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert outcome.exit_code == 2, outcome.output
    assert len(lines) == 1 and lines[0].startswith("grade: error:") and message in lines[0], lines


def test_without_dask_the_scheduler_option_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    klass = _class_of(tmp_path / "class", ada=CORRECT)
    outcome = CliRunner().invoke(main, ["class", str(EXERCISES / "02_multihead"), str(klass), "--report-dir",
                                        str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    assert outcome.exit_code == 2 and "pip install 'attention-grader[dask]'" in outcome.output


def test_a_dask_cluster_gives_the_same_grades_as_local_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    klass = _class_of(tmp_path / "class", ada=CORRECT, bob=BUGGY)
    local = _batch([str(klass), "-j", "2", "--report-dir", "local"], tmp_path)
    assert local.returncode == 0, local.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        remote = _batch([str(klass), "--report-dir", "dask", "--scheduler", c.scheduler_address], tmp_path)
    assert remote.returncode == 0, remote.stderr
    for student in ("ada", "bob"):
        assert _verdicts(tmp_path / "dask", student) == _verdicts(tmp_path / "local", student), student
