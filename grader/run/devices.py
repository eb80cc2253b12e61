"""Which devices a grading runs the checks on: the CPU always, CUDA where this machine has it.

``grade --device cpu|cuda|all`` (default: every device available). A check that takes the
``device`` fixture runs once per device and splits its points among them (3 points on
the CPU and CUDA: 1.5 on each), so the maximum score is the same on every machine and a
machine without a GPU never costs points. With only one device, check ids and points are
exactly those of a CPU-only grading.

CUDA is looked for through NVML (``PYTORCH_NVML_BASED_CUDA_CHECK=1``), which creates no
CUDA context: the grader may fork grading workers afterwards. The grader initialises CUDA
only for its own reference runs; the sandboxed child initialises it itself, and the
forkserver it is forked from never does.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re

import torch

CPU, CUDA = "cpu", "cuda"
CHOICES = (CPU, CUDA, "all")
# The settings the reference and the submission both run with on CUDA (the child applies the
# same ones before it loads the submission). TF32 is off: float32 matmuls in full float32, as
# PyTorch's default for matmuls is, so float32 results on CUDA are judged like the CPU's.
TF32 = False
CUBLAS_WORKSPACE = ":4096:8"
LIBCUDA = "libcuda.so.1"
DRIVER_LIBRARY = r"^(libcuda|libnvidia-[a-z-]+|libnvcuvid)\.so"   # cuBLAS picks the same algorithms every run (deterministic results)

MSG_NO_CUDA = ("{choice}: this machine has no CUDA device that PyTorch can use (torch {version}, "
               "{build}); grade with --device cpu, or leave --device out to grade on every device available.")
MSG_CHOICE = "{choice}: choose one of cpu, cuda, all."


class DeviceError(ValueError):
    """The devices asked for are not on this machine (the message is one line with the fix)."""


def cuda_available() -> bool:
    """Whether PyTorch can use a CUDA device here, asked without creating a CUDA context."""
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    return torch.cuda.is_available()


def available() -> tuple[str, ...]:
    return (CPU, CUDA) if cuda_available() else (CPU,)


def resolve(choice: str | None) -> tuple[str, ...]:
    """The devices to grade on for ``--device choice`` (None: every device available).

    ``cuda`` and ``all`` (the CPU and CUDA) are refused on a machine without CUDA.
    """
    if choice is None:
        return available()
    if choice not in CHOICES:
        raise DeviceError(MSG_CHOICE.format(choice=choice))
    if choice == CPU:
        return (CPU,)
    if not cuda_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(MSG_NO_CUDA.format(choice=choice, version=torch.__version__, build=build))
    return (CUDA,) if choice == CUDA else (CPU, CUDA)


def for_exercise(exercise, devices: tuple[str, ...] | None) -> tuple[str, ...]:
    """The devices ``exercise``'s checks run on: ``devices`` (None: every one available) for a
    PyTorch exercise, the CPU alone for any other (NumPy runs nowhere else)."""
    if getattr(exercise, "framework", "torch") != "torch":
        return (CPU,)
    return available() if devices is None else tuple(devices)


def titled(title: str, device: str) -> str:
    """A check's title when it runs on several devices: which one this run is on."""
    return f"{title} [{device}]"


def split_points(points: float, devices: tuple[str, ...]) -> float:
    """What a check worth ``points`` is worth on each of ``devices``."""
    return points / len(devices) if len(devices) > 1 else points


def child_settings(devices: tuple[str, ...], memory_mib: int) -> dict | None:
    """What the sandboxed child needs to run on CUDA (None: it never touches CUDA).

    ``libraries``: the driver's libraries (their folders are bound into the child's root);
    ``visible``: the grader's CUDA_VISIBLE_DEVICES (the child's environment is cleared).
    """
    if CUDA not in devices:
        return None
    return {"tf32": TF32, "memory_mib": int(memory_mib), "cublas_workspace": CUBLAS_WORKSPACE,
            "libraries": list(driver_libraries()), "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}


@functools.cache
def driver_libraries() -> tuple[str, ...]:
    """Where the NVIDIA driver's libraries are (libcuda, libnvidia-*), as the dynamic loader finds them.

    Loading libcuda creates no CUDA context (only ``cuInit`` does); the paths come from this
    process's own memory map, the links and the files they point to both.
    """
    try:
        ctypes.CDLL(LIBCUDA)
    except OSError:
        return ()
    found: set[str] = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.rstrip("\n").split(maxsplit=5)[-1]
            if path.startswith("/") and re.search(DRIVER_LIBRARY, os.path.basename(path)):
                found.update({path, os.path.realpath(path)})
    return tuple(sorted(found))


def versions(devices: tuple[str, ...]) -> dict[str, str]:
    """What the report says about CUDA (nothing without it): the GPU, CUDA and TF32."""
    return {"cuda": describe_cuda()} if CUDA in devices else {}


def describe_cuda() -> str:
    """One line for the report: the GPU, the CUDA version and the precision settings."""
    try:
        name = torch.cuda.get_device_name(0)
    except (AssertionError, RuntimeError):   # no GPU after all (a test that fakes one)
        name = "no GPU"
    return (f"{name}, CUDA {torch.version.cuda}; TF32 {'on' if TF32 else 'off'} for float32 matmuls "
            "(the reference and the submission alike)")


@contextlib.contextmanager
def cuda_settings(devices: tuple[str, ...]):
    """The grader's own reference runs with the settings the child uses, restored afterwards."""
    if CUDA not in devices:
        yield
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = TF32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
