"""The child freezes the heap it inherits from the forkserver before anything runs: the cyclic garbage
collector then never walks torch's objects there, and so never writes to (and copies) the pages the
child shares with the forkserver. A grade's child does half again the work per request without it
(benchmarks/worker.py measures it); this test sees the mechanism from inside the child."""

from __future__ import annotations

import pytest
import torch

from conftest import sandboxed

LOOKS = '''import gc, torch
FROZEN_AT_LOAD = gc.get_freeze_count()
def softmax(x, dim=-1):
    gc.collect()   # the submission's own objects are still collected as usual
    return torch.tensor([FROZEN_AT_LOAD, gc.get_freeze_count(), len(gc.get_objects())], dtype=torch.float64)
'''


@pytest.mark.parametrize("level", ["rlimits", "namespaces"])
def test_the_inherited_heap_is_frozen_before_the_submission_loads(tmp_path, level):
    from grader.sandbox import probe
    if level == "namespaces" and probe.resolve("best") != "namespaces":
        pytest.skip("this machine gives no namespaces")
    with sandboxed(tmp_path, LOOKS, isolation=level) as student:
        frozen_at_load, frozen_later, tracked = student.call("softmax", torch.zeros(2)).tolist()
    # torch alone is far more than 50 000 tracked objects; what the collector still walks is the
    # submission's and what the child made after the freeze, a small part of it.
    assert frozen_at_load > 50_000
    assert frozen_later == frozen_at_load
    assert tracked < frozen_at_load / 4
