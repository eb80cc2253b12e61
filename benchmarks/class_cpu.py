"""Where does a class's CPU time go? `grade class` on mixed 02 submissions, every process's CPU time counted.

Run on purpose (not a test), as root on Linux::

    python benchmarks/class_cpu.py [--size 200] [--jobs N]

Builds the same class as ``class_scale.py`` (its mix, its order), turns on the kernel's process
accounting (``acct(2)``: one record per process when it ends, with its user and system CPU time;
root only) while `grade class` grades it, and splits the CPU time of every process of the run by
what it is:

- ``grade``: the command's own process (imports, the queue, the students' reports, the gradebook);
- ``workers``: the grading workers (the checks, Hypothesis, the references, the comparisons, the wire);
- ``forkservers``: the long-lived processes that fork workers and sandboxed children (their imports of
  torch and the forks themselves, which the parent pays for);
- ``children``: the sandboxed children (a submission's code, and the server that answers requests);
- ``children at a CPU limit``: those that used the call's CPU budget (hanging submissions, by policy).

Each is printed in CPU seconds, per submission and as a share; the 60 s target for 200 on 2 cores
allows 0.60 CPU-s a submission in all. Unlike a sampling profiler, the kernel counts CPU time, not
time spent waiting for the other side of a pipe. Accounting is machine-wide: run it on a quiet
machine (processes that are not the run's are left out by their ancestry and start time).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from class_scale import ROOT, build_class, class_command  # noqa: E402

RECORD = struct.Struct("=BBHIIIIIIf8H16s")   # struct acct_v3 (linux/acct.h), 64 bytes
AHZ = 100                                     # the ticks its comp_t times count
AT_CPU_LIMIT = 2.5                            # CPU seconds a sandboxed child reaches only by hanging


def comp_t(value: int) -> int:
    """A comp_t: 13 bits of mantissa, 3 of base-8 exponent."""
    return (value & 0x1FFF) << (3 * (value >> 13))


def records(path: Path) -> list[dict]:
    data = path.read_bytes()
    out = []
    for offset in range(0, len(data) - RECORD.size + 1, RECORD.size):
        (_flag, version, _tty, _exit, _uid, _gid, pid, ppid, btime, etime, utime, stime, *_rest,
         comm) = RECORD.unpack_from(data, offset)
        if version & 0x0F != 3:
            raise SystemExit(f"{path}: not acct v3 records (version {version})")
        out.append({"pid": pid, "ppid": ppid, "start": btime, "elapsed": etime / AHZ,
                    "cpu": (comp_t(utime) + comp_t(stime)) / AHZ,
                    "comm": comm.split(b"\0", 1)[0].decode(errors="replace")})
    return out


def accounting(path: str | None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.acct(path.encode() if path else None) != 0:
        error = ctypes.get_errno()
        raise SystemExit(f"process accounting could not be turned {'on' if path else 'off'}: "
                         f"{os.strerror(error)} (it needs root on Linux)")


FORKED = b"from multiprocessing.forkserver import main"   # in the command line of every process a forkserver forks


def forked_pythons() -> set[int]:
    """The processes now running that a forkserver made (or that are one)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and FORKED in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def outlived(before: set[int], seconds: float = 15.0) -> None:
    """Wait (up to ``seconds``) for the run's forkservers and their children to end after `grade`
    has: a process is accounted for when it ends, so one still running would be left out."""
    deadline = time.monotonic() + seconds
    while forked_pythons() - before and time.monotonic() < deadline:
        time.sleep(0.05)


def roles(rows: list[dict], main_pid: int, started: float, wall: float) -> dict[str, list[dict]]:
    """The run's processes by role: descendants of ``main_pid``, and orphans (re-parented to 1) that
    started during the run, as a forkserver's children and the forkserver itself are."""
    by_pid = {row["pid"]: row for row in rows}

    def of_run(row: dict) -> bool:
        seen = set()
        while row["pid"] not in seen:
            seen.add(row["pid"])
            if row["pid"] == main_pid:
                return True
            if row["ppid"] == 1:
                return row["comm"].startswith("python") and row["start"] >= int(started) - 1
            parent = by_pid.get(row["ppid"])
            if parent is None:
                return False
            row = parent
        return False

    split: dict[str, list[dict]] = {k: [] for k in ("grade", "workers", "forkservers", "children",
                                                    "children at a CPU limit")}
    long_lived = {row["pid"] for row in rows if row["elapsed"] > wall / 2}
    for row in rows:
        if not of_run(row):
            continue
        if row["pid"] == main_pid:
            split["grade"].append(row)
        elif row["pid"] in long_lived:
            parent = by_pid.get(row["ppid"])
            forks_workers = parent is not None and parent["ppid"] == main_pid and parent["pid"] in long_lived
            split["workers" if forks_workers else "forkservers"].append(row)
        else:
            split["children at a CPU limit" if row["cpu"] >= AT_CPU_LIMIT else "children"].append(row)
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=200, help="students in the class")
    parser.add_argument("--jobs", type=int, default=None, help="grade class --jobs (default: its own)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-cpu-") as tmp:
        tmp = Path(tmp)
        klass = tmp / "class"
        build_class(klass, args.size)
        log = tmp / "pacct"
        log.touch()
        accounting(str(log))
        try:
            started = time.time()
            before = forked_pythons()
            process = subprocess.Popen(class_command(ROOT, klass, tmp / "out", args.jobs), cwd=ROOT)
            process.wait()
            wall = time.time() - started
            outlived(before)
        finally:
            accounting(None)
        if process.returncode != 0:
            raise SystemExit(f"grade class failed (exit {process.returncode})")
        split = roles(records(log), process.pid, started, wall)
    total = sum(row["cpu"] for rows in split.values() for row in rows)
    print(f"02_multihead, class of {args.size}, {os.cpu_count()} CPU cores, jobs {args.jobs or 'default'}: "
          f"{wall:.1f} s wall, {total:.1f} CPU-s in all, {total / args.size:.2f} CPU-s per submission")
    print(f"{'role':>24} {'processes':>10} {'CPU s':>8} {'per sub':>8} {'share':>6}")
    for role, rows in split.items():
        cpu = sum(row["cpu"] for row in rows)
        print(f"{role:>24} {len(rows):10d} {cpu:8.1f} {cpu / args.size:8.3f} {100 * cpu / total:5.1f}%")
    print(f"\nthe 60 s target for 200 on {os.cpu_count()} cores allows {60 * (os.cpu_count() or 1) / 200:.2f} "
          f"CPU-s per submission in all")


if __name__ == "__main__":
    main()
