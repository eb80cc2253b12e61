"""How fast are the references on a GPU, and what does grading on CUDA cost?

Run on purpose (not a test), on a machine with an NVIDIA GPU::

    python benchmarks/gpu.py [--runs 20] [--grade]

1. The reference implementations against PyTorch's own at B=32, L=512, E=512, H=8,
   forward and forward+backward, float32 and bfloat16: ``reference.multihead`` against
   ``torch.nn.MultiheadAttention`` (batch_first, the same weights), and the reference's
   scaled dot-product attention against ``torch.nn.functional.scaled_dot_product_attention``.
   Medians of ``--runs`` timed runs after warm-up (CUDA events), and their ratios.
2. With ``--grade``: the wall time of ``grade`` on each PyTorch exercise's reference with
   ``--device cuda`` against ``--device cpu``.

Without CUDA it says so and exits 0 after running part 1 on the CPU at a smaller size,
so the script itself is exercised everywhere.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attention_reference import multihead as ref_mha  # noqa: E402  (the project's reference, from the checkout)

REFERENCES = {"01_softmax": "softmax.py", "02_multihead": "multihead.py", "03_encoder_decoder": "encoder_decoder.py"}


def timer(device: torch.device):
    """A function that times ``fn`` once (seconds), synchronising the device."""
    if device.type == "cuda":
        def once(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000
        return once

    def once(fn):
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started
    return once


def median_time(fn, device, runs: int) -> float:
    once = timer(device)
    for _ in range(3):
        once(fn)
    return statistics.median(once(fn) for _ in range(runs))


def compare_attention(device: torch.device, dtype: torch.dtype, B: int, L: int, E: int, H: int, runs: int) -> None:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(B, L, E, generator=g).to(device=device, dtype=dtype)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True).to(device=device, dtype=dtype)
    state = {
        "q_proj.weight": theirs.in_proj_weight[:E], "k_proj.weight": theirs.in_proj_weight[E:2 * E],
        "v_proj.weight": theirs.in_proj_weight[2 * E:], "q_proj.bias": theirs.in_proj_bias[:E],
        "k_proj.bias": theirs.in_proj_bias[E:2 * E], "v_proj.bias": theirs.in_proj_bias[2 * E:],
        "out_proj.weight": theirs.out_proj.weight, "out_proj.bias": theirs.out_proj.bias,
    }
    state = {k: v.detach().clone().requires_grad_(True) for k, v in state.items()}
    Dh = E // H
    q = x.view(B, L, H, Dh).transpose(1, 2).contiguous()  # (B, H, L, Dh)

    def mha(ours: bool, backward: bool):
        def run():
            inp = x.detach().requires_grad_(backward)
            if ours:
                out, _ = ref_mha.multihead_attention(inp, inp, inp, state, H, None)
            else:
                out, _ = theirs(inp, inp, inp, need_weights=True, average_attn_weights=False)
            if backward:
                out.sum().backward()
        return run

    def sdpa(ours: bool, backward: bool):
        def run():
            inp = q.detach().requires_grad_(backward)
            if ours:
                out, _ = ref_mha.scaled_dot_product_attention(inp, inp, inp, None)
            else:
                out = torch.nn.functional.scaled_dot_product_attention(inp, inp, inp)
            if backward:
                out.sum().backward()
        return run

    name = str(dtype).replace("torch.", "")
    for label, make in (("multi-head attention vs nn.MultiheadAttention", mha),
                        ("attention vs F.scaled_dot_product_attention", sdpa)):
        for backward in (False, True):
            ours = median_time(make(True, backward), device, runs)
            theirs_t = median_time(make(False, backward), device, runs)
            print(f"  {name:8} {label:48} {'fwd+bwd' if backward else 'fwd':7}  reference {ours * 1e3:8.2f} ms  "
                  f"torch {theirs_t * 1e3:8.2f} ms  ratio {ours / theirs_t:5.2f}x")


def grade_time(exercise: str, device: str) -> float:
    command = [sys.executable, "-m", "grader", str(ROOT / "exercises" / exercise), "--submission",
               str(ROOT / "attention_reference" / REFERENCES[exercise]), "--device", device, "-q", "--report-dir",
               "/tmp/grade-gpu-bench"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--grade", action="store_true", help="also time grading on CUDA against the CPU")
    args = parser.parse_args()
    if torch.cuda.is_available():
        device = torch.device("cuda")
        print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
        sizes = dict(B=32, L=512, E=512, H=8)
    else:
        device = torch.device("cpu")
        print("No CUDA device here: the comparison runs on the CPU at a small size, to exercise the script.")
        sizes = dict(B=2, L=64, E=64, H=8)
    print(f"B={sizes['B']}, L={sizes['L']}, E={sizes['E']}, H={sizes['H']}, median of {args.runs} runs")
    for dtype in (torch.float32, torch.bfloat16):
        compare_attention(device, dtype, runs=args.runs, **sizes)
    if args.grade:
        if device.type != "cuda":
            print("grading on CUDA: skipped (no CUDA device)")
            return
        for exercise in REFERENCES:
            cpu, cuda = grade_time(exercise, "cpu"), grade_time(exercise, "cuda")
            print(f"grade {exercise:20} cpu {cpu:6.2f} s  cuda {cuda:6.2f} s  ratio cuda/cpu {cuda / cpu:5.2f}x")


if __name__ == "__main__":
    main()
