"""What the child's jail lets through for CUDA, and only when the grader asks for CUDA.

No GPU is needed: the isolation plan is read from a made-up /dev, the system-call filter is
run on single calls by a small BPF interpreter (and, for shared memory, installed for real
in a forked process), and the host-memory limit is read back in a forked process.
scripts/gpu_check.sh runs a real child on CUDA where a GPU exists.
"""

from __future__ import annotations

import mmap
import os
import resource

import pytest

from conftest import emulate_bpf as emulate, in_a_fork
from grader.run import devices
from grader.sandbox.child import cuda, isolation, privileges, seccomp

ALLOW = 0x7FFF0000
EPERM, ENOTTY = 0x00050000 | 1, 0x00050000 | 25
IOCTL, MMAP = 16, 9
NV_ESC_RM_ALLOC = 0xC020462B    # _IOWR('F', 0x2B, 32): the resource manager's ioctl on nvidiactl
UVM_INITIALIZE = 0x30000001
UVM_MAP_EXTERNAL = 33           # UVM_IOCTL_BASE(33) on nvidia-uvm
TIOCSTI, TCGETS, FBIOGET = 0x5412, 0x5401, 0x4600
SHARED_ANON, PRIVATE_ANON = mmap.MAP_SHARED | mmap.MAP_ANONYMOUS, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
x86_only = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the filter's numbers here are x86_64's")


@pytest.fixture(scope="module")
def plain():
    return seccomp.syscall_filter("x86_64", pid=4242)


@pytest.fixture(scope="module")
def on_cuda():
    return seccomp.syscall_filter("x86_64", pid=4242, cuda=True)


@pytest.mark.parametrize("request_", [NV_ESC_RM_ALLOC, UVM_INITIALIZE, UVM_MAP_EXTERNAL])
def test_the_drivers_ioctls_pass_only_when_cuda_is_asked_for(plain, on_cuda, request_):
    assert emulate(plain, IOCTL, (3, request_)) == ENOTTY
    assert emulate(on_cuda, IOCTL, (3, request_)) == ALLOW


def test_on_cuda_the_other_ioctls_stay_as_they_were(plain, on_cuda):
    assert emulate(on_cuda, IOCTL, (1, TCGETS)) == ALLOW
    assert emulate(on_cuda, IOCTL, (0, TIOCSTI)) == ENOTTY           # types into the terminal: still refused
    assert emulate(on_cuda, IOCTL, (3, 0x8912)) == ENOTTY            # SIOCGIFCONF (a socket's): refused
    assert emulate(on_cuda, IOCTL, (3, 0)) == ENOTTY
    assert emulate(on_cuda, IOCTL, (3, 128)) == ENOTTY               # above unified memory's numbers


def test_on_cuda_shared_anonymous_memory_is_refused(plain, on_cuda):
    # RLIMIT_DATA, the host-memory bound on CUDA, does not count it.
    assert emulate(plain, MMAP, (0, 4096, 3, SHARED_ANON)) == ALLOW
    assert emulate(on_cuda, MMAP, (0, 4096, 3, SHARED_ANON)) == EPERM
    assert emulate(on_cuda, MMAP, (0, 4096, 3, PRIVATE_ANON)) == ALLOW
    assert emulate(on_cuda, MMAP, (5, 4096, 3, mmap.MAP_SHARED)) == ALLOW    # a file (the driver's nodes)


def test_on_cuda_everything_else_is_the_same_filter(plain, on_cuda):
    for nr in range(0, 460):
        if nr in (IOCTL, MMAP):
            continue
        for args in ((0, 0, 0, 0), (4242, 0, 0, 0), (1, 0x11, 0, 0), (3, 4, 0, 0)):
            assert emulate(plain, nr, args) == emulate(on_cuda, nr, args), (nr, args)


def test_the_log_mode_refuses_nothing_but_is_never_the_default(on_cuda):
    logged = seccomp.syscall_filter("x86_64", pid=4242, cuda=True, log_refused=True)
    assert emulate(on_cuda, 41, (2, 1, 0, 0)) == EPERM                 # socket
    assert emulate(logged, 41, (2, 1, 0, 0)) == 0x7FFC0000            # SECCOMP_RET_LOG
    assert emulate(logged, IOCTL, (0, TIOCSTI)) == 0x7FFC0000


def _shared_anonymous() -> str:
    try:
        mmap.mmap(-1, 4096).close()     # MAP_SHARED | MAP_ANONYMOUS
        return "ok"
    except OSError as error:
        return os.strerror(error.errno)


@x86_only
@pytest.mark.parametrize("cuda_on", [False, True])
def test_the_installed_filter_refuses_shared_anonymous_memory_only_on_cuda(cuda_on):
    def body():
        privileges.drop_privileges()
        seccomp.restrict_syscalls(cuda=cuda_on)
        return {"shared": _shared_anonymous(), "private": bool(bytearray(1 << 20))}
    got = in_a_fork(body)
    assert got["private"]
    assert got["shared"] == (os.strerror(1) if cuda_on else "ok")


@pytest.mark.parametrize("cuda_on", [False, True])
def test_host_memory_is_bounded_either_way(cuda_on):
    limits = {"memory_mib": 1024, "cpu_seconds": 60, "file_mib": 8}

    def body():
        isolation.apply_rlimits(limits, cuda=cuda_on)
        return {"as": resource.getrlimit(resource.RLIMIT_AS)[0], "data": resource.getrlimit(resource.RLIMIT_DATA)[0]}
    got = in_a_fork(body)
    bounded, other = ("data", "as") if cuda_on else ("as", "data")
    assert got[bounded] == 1024 << 20
    assert got[other] != 1024 << 20


def _fake_dev(tmp_path):
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    for name in ("null", "nvidiactl", "nvidia0", "nvidia1", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset",
                 "nvidia-nvswitchctl", "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"):
        (dev / name).touch()
    return dev


def test_the_nodes_a_child_on_cuda_sees_are_the_drivers_compute_nodes_only(tmp_path):
    dev = _fake_dev(tmp_path)
    got = [p.removeprefix(str(dev) + "/") for p in isolation.nvidia_nodes(str(dev))]
    assert got == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl", "nvidia-caps/nvidia-cap1",
                   "nvidia-caps/nvidia-cap2"]
    assert "nvidia-uvm-tools" not in got      # reads other processes' GPU memory


def test_without_cuda_the_plan_adds_nothing():
    assert isolation.cuda_plan({"isolation": "namespaces"}) == {"nodes": [], "folders": []}
    assert isolation.cuda_plan({"cuda": None}) == {"nodes": [], "folders": []}


def test_with_cuda_the_plan_lists_the_nodes_and_the_drivers_folders(tmp_path, monkeypatch):
    dev = _fake_dev(tmp_path)
    library = tmp_path / "driver" / "libcuda.so.1"
    library.parent.mkdir()
    library.touch()
    real = isolation.nvidia_nodes
    monkeypatch.setattr(isolation, "nvidia_nodes", lambda: real(str(dev)))
    plan = isolation.cuda_plan({"cuda": {"libraries": [str(library), "relative/libcuda.so", "/nowhere/libcuda.so"]}})
    assert f"{dev}/nvidiactl" in plan["nodes"] and f"{dev}/nvidia-uvm-tools" not in plan["nodes"]
    assert library.parent in plan["folders"]
    assert all(p.is_absolute() and p.is_dir() for p in plan["folders"])
    assert not [p for p in plan["folders"] if str(p).startswith(("/nowhere", "relative"))]


def test_the_child_gets_cuda_settings_only_when_grading_on_cuda():
    assert devices.child_settings(("cpu",), 3072) is None
    settings = devices.child_settings(("cpu", "cuda"), 3072)
    assert settings["memory_mib"] == 3072 and settings["tf32"] is devices.TF32
    assert isinstance(settings["libraries"], list)


def test_the_child_places_tensors_on_cuda_only_when_asked():
    assert cuda.device_ok({"cuda": None})("cuda:0") is False
    assert cuda.device_ok({"cuda": {"tf32": False}})("cuda:0") is True
    assert cuda.device_ok({"cuda": {"tf32": False}})("cuda:1") is False
    cuda.prepare({})   # nothing asked: nothing done (no CUDA here, and no error)


def test_a_lost_cuda_context_is_recognised():
    assert cuda.fatal("CUDA error: an illegal memory access was encountered")
    assert not cuda.fatal("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert not cuda.fatal("shape mismatch")
