"""Device mistakes named from PyTorch's own messages on CUDA (as PyTorch 2.x words them), and the
dtype and device of an output judged before its values."""

from __future__ import annotations

import pytest
import torch

from grader import errors
from grader.kit import compare, device_errors, diagnose

MIXED = ("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu! "
         "(when checking argument for argument mat2 in method wrapper_CUDA_mm)")
MIXED_WHERE = ("Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0! "
               "(when checking argument for argument other in method wrapper_CUDA_where_self)")
NUMPY = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
         "memory first.")


def test_a_tensor_made_on_the_cpu_is_named_with_its_operation_and_line():
    text = diagnose.for_error(MIXED, "scores = q @ torch.ones(4, 4)")
    assert text.startswith("Your code mixes devices: the mm operation got one (its argument mat2) on the line "
                           "`scores = q @ torch.ones(4, 4)`: a tensor created inside the computation is on the CPU")
    assert "cuda:0" in text and "device=x.device" in text
    assert "the where_self operation" in diagnose.for_error(MIXED_WHERE)


def test_a_round_trip_through_numpy_on_the_gpu_is_named():
    assert diagnose.for_error(NUMPY) == device_errors.MSG_NUMPY.format(device="cuda:0")


def test_other_errors_are_left_to_the_other_patterns():
    assert device_errors.for_error("shape mismatch") is None
    assert device_errors.for_error("Expected all tensors to be on the same device") is None   # no GPU named


def test_a_half_output_promoted_to_float32_is_said_so():
    like = torch.zeros(2, 3, dtype=torch.float16)
    with pytest.raises(errors.CheckFailure) as raised:
        compare.expect_tensor(torch.zeros(2, 3), name="the output", like=like)
    assert raised.value.summary == "the output has dtype torch.float32, expected torch.float16 (the dtype of the inputs)."
    assert raised.value.diagnosis.startswith("Your float16 input comes out float32")
    with pytest.raises(errors.CheckFailure, match="has dtype torch.float32, expected torch.float64"):
        compare.expect_tensor(torch.zeros(2, 3), name="the output", like=like.double())


def test_an_output_on_the_wrong_device_says_where_and_how_to_keep_it():
    got = torch.zeros(2)
    got.claimed_device = "cpu"
    like = torch.zeros(2, device="meta")
    with pytest.raises(errors.CheckFailure) as raised:
        compare.expect_tensor(got, name="softmax's output", like=like)
    assert raised.value.summary == "softmax's output is on device cpu, expected meta (the device of the inputs)."
    assert "NumPy" in raised.value.hint and "device=x.device" in raised.value.hint
