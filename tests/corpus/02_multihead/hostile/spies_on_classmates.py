# corpus: hostile
"""Hostile: looks for classmates in the places children could share (scratch, /tmp,
/var/tmp, /dev/shm), leaves a marker in each for the next child, and stores what it can
where it could outlive grading: a large file in /dev/shm (RAM) and /var/tmp, System V
shared memory, and as many files as it can make in its scratch.

The test fills in __MARK__ (this run's marker)."""
import ctypes
import glob
import json
import os
import time

PLACES = (os.getcwd(), "/tmp", "/var/tmp", "/dev/shm")


def report():
    seen = {}
    for place in PLACES:
        try:
            seen[place] = sorted(n for n in os.listdir(place) if n.startswith(("grade-mark-", "grade-scratch-")))
        except OSError as error:
            seen[place] = f"unreadable: {error.strerror}"
    seen["scratch_glob"] = glob.glob("/tmp/grade-scratch-*/*.py")
    left = {}
    for place in PLACES:
        path = os.path.join(place, "grade-mark-__MARK__")
        try:
            with open(path, "w") as f:
                f.write("__MARK__")
            left[place] = True
        except OSError:
            left[place] = False
    big = {}
    for place in ("/dev/shm", "/var/tmp"):   # 120 MiB each, in files under the 64 MiB file limit
        written = 0
        try:
            for part in range(3):
                with open(os.path.join(place, f"grade-mark-__MARK__-big{part}"), "wb") as f:
                    for _ in range(40):
                        f.write(bytes(1 << 20))
                        written += 1
        except OSError:
            pass
        big[place] = written
    libc = ctypes.CDLL(None, use_errno=True)
    shm = [libc.shmget(0, 1 << 20, 0o1000 | 0o666) for _ in range(2)]   # IPC_PRIVATE | IPC_CREAT
    files, started = 0, time.monotonic()
    os.makedirs("many", exist_ok=True)
    try:
        while files < 20_000 and time.monotonic() - started < 1.5:
            open(f"many/{files}", "w").close()
            files += 1
    except OSError:
        pass
    print("SPIED " + json.dumps({"seen": seen, "left": left, "big_mib": big, "shm": shm, "files": files},
                                sort_keys=True), flush=True)


report()
