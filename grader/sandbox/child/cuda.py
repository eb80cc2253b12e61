"""CUDA in the sandboxed child: initialised here, by the child itself, inside its jail.

Untrusted side (see :mod:`grader.sandbox.child`). The forkserver the child comes from never
touches CUDA (a fork after CUDA is initialised breaks). When the grader asks for CUDA
(``config["cuda"]``), :func:`prepare` runs in the child after
:func:`grader.sandbox.child.isolation.enter` (its root, limits and system-call filter are in
place, and let through only what the driver needs: SECURITY.md, "The GPU") and before the
submission is loaded, so a machine whose driver the jail refuses is a setup error, never the
submission's fault.

The settings are the grader's (the reference runs with the same ones): TF32 on or off for
float32 matmuls, cuBLAS's deterministic workspace, and a cap on the caching allocator of
``memory_mib`` of GPU memory. The cap turns an honest oversized allocation into a clean
out-of-memory error; the submission could lift it, so it is no security boundary.
"""

from __future__ import annotations

import os
from typing import Any

import torch

DEVICE = "cuda:0"
# Errors after which the CUDA context of this process is unusable ("sticky" errors): the child
# answers the call that hit one and exits, so the next check starts a fresh child.
STICKY = ("CUDA error", "CUBLAS_STATUS_EXECUTION_FAILED", "cuDNN error: CUDNN_STATUS_EXECUTION_FAILED")


def wanted(config: dict[str, Any]) -> bool:
    return bool(config.get("cuda"))


def prepare(config: dict[str, Any]) -> None:
    """Initialise CUDA in this process with the grader's settings (nothing without ``config["cuda"]``)."""
    settings = config.get("cuda")
    if not settings:
        return
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = str(settings.get("cublas_workspace", ":4096:8"))
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    if settings.get("visible") is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(settings["visible"])
    torch.backends.cuda.matmul.allow_tf32 = bool(settings.get("tf32", False))
    torch.backends.cudnn.allow_tf32 = bool(settings.get("tf32", False))
    torch.cuda.init()
    torch.zeros(1, device=DEVICE).add_(1)   # the context, the allocator and one kernel launch
    total = torch.cuda.get_device_properties(0).total_memory
    cap = int(settings.get("memory_mib", 3072)) << 20
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total), 0)
    torch.cuda.synchronize()


def device_ok(config: dict[str, Any]):
    """Which devices a tensor from the grader may be placed on in this child."""
    cuda = wanted(config)
    return lambda device: cuda and device == DEVICE


def synchronize(on_cuda: bool) -> None:
    """Wait for this process's kernels, so that an error in one is raised by the call that launched it."""
    if on_cuda:
        torch.cuda.synchronize()


def fatal(message: str) -> bool:
    """Whether an error left this process's CUDA context unusable."""
    return any(text in message for text in STICKY)
