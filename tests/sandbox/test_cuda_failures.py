"""A CUDA error in one submission costs that submission only (on a machine with a GPU).

A lost context (a device-side assert), running out of GPU memory and a kernel that never
ends each cost the checks that hit them; the other checks of the same submission, and the
next submission, grade normally. Skipped without CUDA (scripts/gpu_check.sh runs them).
"""

from __future__ import annotations

import pytest
import torch

from conftest import ROOT, assert_full_marks, grade

pytestmark = [pytest.mark.devices, pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (none here); scripts/gpu_check.sh runs it on one")]

EXERCISE = "01_softmax"
REFERENCE = ROOT / "attention_reference" / "softmax.py"
RIGHT_MASKED = '''
def masked_softmax(x, mask, dim=-1):
    x = x.masked_fill(~mask, float("-inf"))
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(x - m)
    t = e.sum(dim=dim, keepdim=True)
    return e / torch.where(t > 0, t, torch.ones_like(t))
'''
BREAKS = {
    # an index far out of range: a device-side assert, after which the process's context is lost
    "lost_context": "x.reshape(-1)[torch.full((1,), 10**9, device=x.device)].sum().item()",
    "out_of_memory": "torch.empty(1 << 40, device=x.device)",
    "kernel_hang": "torch.cuda._sleep(1 << 62); torch.cuda.synchronize()",
}


def _submission(tmp_path, how: str):
    path = tmp_path / f"{how}.py"
    path.write_text(f"import torch\n\n\ndef softmax(x, dim=-1):\n    {BREAKS[how]}\n    return x\n{RIGHT_MASKED}")
    return path


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_a_cuda_failure_costs_the_checks_that_hit_it_only(tmp_path, how):
    result = grade(EXERCISE, _submission(tmp_path, how), devices=("cuda",), call_seconds=5, total_seconds=120)
    failed = {c.check_id for c in result.checks if not c.passed}
    assert "test_softmax_matches_reference" in failed
    if how != "kernel_hang":   # a submission that keeps hanging is given up on after a few calls, as on the CPU
        assert "test_masked_softmax_matches_reference" not in failed, [c.summary for c in result.checks]
    assert_full_marks(grade(EXERCISE, REFERENCE, devices=("cuda",)))   # and the next submission grades normally
