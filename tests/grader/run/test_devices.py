"""Which devices a grading runs on, and what that does to check ids, points and results.

No GPU is needed: CUDA's presence is faked where the logic only asks whether it is there,
and a made-up exercise whose checks take only the ``device`` fixture (no child, no
tensors) shows the parametrisation, the split of points and the device of each result.
scripts/gpu_check.sh grades on a real GPU.
"""

from __future__ import annotations

import textwrap

import pytest
import torch
from click.testing import CliRunner

from grader import cli
from grader.outputs import gradescope, terminal
from grader.kit import strategies
from grader.run import devices, session
from grader.spec import load_exercise

pytestmark = pytest.mark.devices

CHECKS = '''
import pytest

@pytest.mark.points(3)
def test_everywhere(device):
    """Passes on every device"""

@pytest.mark.points(2)
def test_only_on_the_cpu(device):
    """Passes on the CPU only"""
    assert device == "cpu", "not on " + device

@pytest.mark.points(1)
def test_no_device():
    """Takes no device"""
'''


def _exercise(tmp_path, framework="torch"):
    root = tmp_path / "99_devices"
    (root / "checks").mkdir(parents=True)
    (root / "exercise.toml").write_text(textwrap.dedent(f'''
        [exercise]
        id = "99_devices"
        title = "Devices"
        framework = "{framework}"
        summary = "Checks that take the device fixture."
    '''))
    (root / "solution.py").write_text("x = 1\n")
    (root / "checks" / "test_devices.py").write_text(CHECKS)
    return load_exercise(root)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: False)


@pytest.fixture
def with_cuda(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: True)


def test_without_cuda_the_default_is_the_cpu_and_cuda_is_refused(no_cuda):
    assert devices.resolve(None) == ("cpu",)
    assert devices.resolve("cpu") == ("cpu",)
    for choice in ("cuda", "all"):
        with pytest.raises(devices.DeviceError, match=f"^{choice}: this machine has no CUDA device"):
            devices.resolve(choice)


def test_with_cuda_the_default_is_both(with_cuda):
    assert devices.resolve(None) == ("cpu", "cuda")
    assert devices.resolve("all") == ("cpu", "cuda")
    assert devices.resolve("cuda") == ("cuda",)
    assert devices.resolve("cpu") == ("cpu",)


@pytest.mark.parametrize("verb", [[], ["class"]])
@pytest.mark.parametrize("choice", ["cuda", "all"])
def test_the_command_refuses_cuda_without_one_in_one_line(no_cuda, tmp_path, verb, choice):
    exercise = _exercise(tmp_path)
    args = [*verb, str(exercise.root), *([str(tmp_path)] if verb else []), "--device", choice,
            "--report-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"grade: error: --device {choice}: this machine has no CUDA device that PyTorch can use")
    assert "grade with --device cpu" in lines[0]


def test_an_unknown_device_is_refused_by_the_command(tmp_path):
    exercise = _exercise(tmp_path)
    result = CliRunner().invoke(cli.main, [str(exercise.root), "--device", "tpu"])
    assert result.exit_code == 2
    assert "'tpu' is not one of 'cpu', 'cuda', 'all'" in result.output


def test_points_split_evenly_and_add_up():
    assert devices.split_points(3, ("cpu",)) == 3
    assert devices.split_points(3, ("cpu", "cuda")) == 1.5
    assert sum(devices.split_points(p, ("cpu", "cuda")) for p in (1, 2, 3)) * 2 == 6


def test_on_the_cpu_alone_ids_points_and_titles_are_as_they_always_were(tmp_path, no_cuda):
    result = session.grade_submission(exercise=_exercise(tmp_path), isolation="rlimits")
    assert [(c.check_id, c.max_points, c.device, c.title) for c in result.checks] == [
        ("test_everywhere", 3, "cpu", "Passes on every device"),
        ("test_only_on_the_cpu", 2, "cpu", "Passes on the CPU only"),
        ("test_no_device", 1, "cpu", "Takes no device"),
    ]
    assert result.devices == ("cpu",) and result.max_score == 6 and result.score == 6
    assert not any("On cpu" in line for line in terminal.summary_lines(result))


def test_on_two_devices_each_check_runs_on_each_for_half_its_points(tmp_path):
    result = session.grade_submission(exercise=_exercise(tmp_path), isolation="rlimits", devices=("cpu", "cuda"))
    got = [(c.check_id, c.max_points, c.points, c.device, c.title) for c in result.checks]
    assert got == [
        ("test_everywhere[cpu]", 1.5, 1.5, "cpu", "Passes on every device [cpu]"),
        ("test_everywhere[cuda]", 1.5, 1.5, "cuda", "Passes on every device [cuda]"),
        ("test_only_on_the_cpu[cpu]", 1, 1, "cpu", "Passes on the CPU only [cpu]"),
        ("test_only_on_the_cpu[cuda]", 1, 0, "cuda", "Passes on the CPU only [cuda]"),
        ("test_no_device", 1, 1, "cpu", "Takes no device"),
    ]
    assert result.devices == ("cpu", "cuda")
    assert result.max_score == 6 and result.score == 5   # the same maximum as on the CPU alone
    lines = terminal.summary_lines(result)
    assert lines[1].startswith("  On cpu and cuda: each check runs on each")
    assert any("Passes on the CPU only [cuda]" in line and line.lstrip().startswith("FAIL") for line in lines)
    assert gradescope.to_results_json(result)["max_score"] == 6


def test_a_numpy_exercise_runs_on_the_cpu_whatever_is_asked(tmp_path):
    result = session.grade_submission(exercise=_exercise(tmp_path, "numpy"), isolation="rlimits",
                                      devices=("cpu", "cuda"))
    assert result.devices == ("cpu",)
    assert [c.check_id for c in result.checks] == ["test_everywhere", "test_only_on_the_cpu", "test_no_device"]


def test_bundles_put_their_tensors_on_the_checks_device_with_the_same_values():
    inputs = strategies.MHAInputs(batch=2, lq=3, lk=4, num_heads=2, head_dim=3, bias=True, mask_kind="padding",
                                  seed=5)
    on_cpu = inputs.tensors()
    with strategies.on_device("meta"):   # a device without values: where the tensors go, not what they hold
        elsewhere = inputs.tensors()
        state = inputs.state_dict()
        noise = strategies.randn((2, 3), seed=1)
    assert strategies.current_device() == "cpu"
    assert all(t.device.type == "meta" for t in elsewhere) and noise.device.type == "meta"
    assert all(t.device.type == "meta" for t in state.values())
    assert [(t.shape, t.dtype) for t in elsewhere] == [(t.shape, t.dtype) for t in on_cpu]
    again = inputs.tensors()
    assert all(torch.equal(a, b) for a, b in zip(again, on_cpu))   # the CPU's unchanged


def test_the_child_is_asked_for_cuda_only_when_a_check_runs_there(tmp_path, monkeypatch):
    made = []
    real = session.SubmissionRunner

    def spy(**kwargs):
        made.append(kwargs.get("cuda"))
        return real(**kwargs)
    monkeypatch.setattr(session, "SubmissionRunner", spy)
    exercise = _exercise(tmp_path)
    session.grade_submission(exercise=exercise, isolation="rlimits", devices=("cpu",))
    session.grade_submission(exercise=exercise, isolation="rlimits", devices=("cpu", "cuda"))
    assert made[0] is None
    assert made[1]["memory_mib"] == exercise.limits.memory_mib and made[1]["tf32"] is devices.TF32
