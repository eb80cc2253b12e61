# corpus: hostile
"""Hostile: reads other processes' memory and environment through /proc, as a child of the
grader's own user could (the grader, the forkserver, the resource tracker), looking for a
secret of the grader's.

The test fills in __TOKEN__ (a secret in the grader's environment)."""
import json
import os


def report():
    me = os.getpid()
    read = {"mem": [], "environ": [], "token": False, "visible": 0}
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = [str(pid) for pid in range(1, 1 << 15) if os.path.exists(f"/proc/{pid}")]
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        read["visible"] += 1
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                data = f.read()
            read["environ"].append(int(entry))
            read["token"] |= b"__TOKEN__" in data
        except OSError:
            pass
        try:
            with open(f"/proc/{entry}/maps") as f:
                start = int(f.readline().split("-")[0], 16)
            with open(f"/proc/{entry}/mem", "rb") as f:
                f.seek(start)
                if f.read(64):
                    read["mem"].append(int(entry))
        except (OSError, ValueError):
            pass
    print("GRADER " + json.dumps(read, sort_keys=True), flush=True)


report()
