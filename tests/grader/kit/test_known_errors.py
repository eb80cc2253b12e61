"""Mistakes named from the exception a submission raised: the real messages of this torch."""

from __future__ import annotations

import pytest
import torch

from grader.kit import diagnose


def _message(action) -> str:
    try:
        action()
    except Exception as error:  # the submission's exception, as the child reports it
        return str(error)
    raise AssertionError("expected the action to raise")


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU, 'cuda' by name works")
@pytest.mark.parametrize("action", [lambda: torch.zeros(2, device="cuda"), lambda: torch.ones(2).cuda()])
def test_a_tensor_put_on_cuda_by_name_without_a_gpu(action):
    assert "puts a tensor on the GPU by name" in diagnose.for_error(_message(action))


@pytest.mark.parametrize("dtype, name, largest", [(torch.float16, "float16", "65504")])
def test_a_fill_that_overflows_names_the_dtype(dtype, name, largest):
    message = _message(lambda: torch.zeros(2, dtype=dtype).masked_fill(torch.tensor([True, False]), -1e9))
    text = diagnose.for_error(message)
    assert f"does not fit in {name}" in text and largest in text and "float('-inf')" in text


@pytest.mark.parametrize("action", [
    lambda: torch.ones(2, 3, dtype=torch.float64) @ torch.ones(3, 2),
    lambda: torch.bmm(torch.ones(1, 2, 3, dtype=torch.float64), torch.ones(1, 3, 2)),
])
def test_mixed_dtypes(action):
    assert "mixes dtypes" in diagnose.for_error(_message(action))


def test_an_unknown_error_gets_no_diagnosis():
    assert diagnose.for_error(_message(lambda: torch.ones(2) @ torch.ones(3))) is None
