"""The device corpus: mistakes only a GPU shows, graded on CUDA where this machine has it.

Each entry of ``tests/corpus/<exercise>/device/`` says ``# needs: cuda``: it is graded on CUDA
alone and must lose the points its header names, with its message or diagnosis. Without CUDA
those tests skip (scripts/gpu_check.sh runs them on a GPU machine); what runs everywhere is that
every entry's header names checks that exist.
"""

from __future__ import annotations

import ast

import pytest
import torch

from conftest import (CORPUS, EXERCISES, ROOT, assert_full_marks, assert_loses_the_right_points, corpus,
                      grade)

pytestmark = pytest.mark.devices
REFERENCES = {"01_softmax": "softmax.py", "02_multihead": "multihead.py", "03_encoder_decoder": "encoder_decoder.py"}
ENTRIES = [(exercise, entry) for exercise in REFERENCES if (CORPUS / exercise / "device").is_dir()
           for entry in corpus(exercise, "device")]
NO_CUDA = "needs a CUDA GPU (none here); scripts/gpu_check.sh runs it on one"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)


def _check_names(exercise: str) -> set[str]:
    names = set()
    for path in (EXERCISES / exercise / "checks").glob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return names


@pytest.mark.parametrize(("exercise", "entry"), ENTRIES, ids=lambda v: getattr(v, "id", v))
def test_every_device_entry_needs_cuda_and_names_real_checks(exercise, entry):
    assert entry.needs == "cuda", f"{entry.id}: a device entry says '# needs: cuda'"
    assert entry.fails and (entry.message or entry.diagnosis), f"{entry.id}: which checks fail, and what is said"
    unknown = set(entry.fails + entry.passes) - _check_names(exercise)
    assert not unknown, f"{entry.id} names checks {exercise} does not have: {sorted(unknown)}"


def test_there_is_an_entry_for_every_device_mistake():
    said = " ".join(f"{e.message or ''} {e.diagnosis or ''}" for _, e in ENTRIES)
    for words in ("is on device cpu", "operation got one", "goes through NumPy", "comes out float32"):
        assert words in said, words


@needs_cuda
@pytest.mark.parametrize(("exercise", "entry"), ENTRIES, ids=lambda v: getattr(v, "id", v))
def test_device_entry_loses_the_right_points_on_cuda(exercise, entry):
    assert_loses_the_right_points(entry, grade(exercise, entry.path, devices=("cuda",)))


@needs_cuda
@pytest.mark.parametrize("exercise", sorted(REFERENCES))
def test_reference_gets_full_marks_on_cuda(exercise):
    assert_full_marks(grade(exercise, ROOT / "attention_reference" / REFERENCES[exercise], devices=("cuda",)))


@needs_cuda
def test_on_both_devices_the_maximum_score_is_the_cpus():
    reference = ROOT / "attention_reference" / REFERENCES["01_softmax"]
    on_cpu = grade("01_softmax", reference, devices=("cpu",))
    both = grade("01_softmax", reference, devices=("cpu", "cuda"))
    assert both.max_score == on_cpu.max_score and both.score == both.max_score
    assert {c.device for c in both.checks} == {"cpu", "cuda"}
    assert len(both.checks) == 2 * len(on_cpu.checks)
