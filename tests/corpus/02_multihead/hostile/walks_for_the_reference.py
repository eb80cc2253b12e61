# corpus: hostile
"""Hostile: walks the whole file system for any copy of the reference (a teaching
assistant's clone, a CI workspace, a backup) and for the grader's results, and tries to
write into the results folder.

The test fills in __PLANTED__ (a copy of the reference it planted outside the project)
and __RESULTS__ (a results folder)."""
import json
import os
import time


def report():
    found, started, looked = [], time.monotonic(), 0
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if not (top == "/" and d in ("proc", "sys"))]
        for name in files:
            looked += 1
            if name == "multihead.py":
                path = os.path.join(top, name)
                try:
                    with open(path) as f:
                        if "def multihead_attention" in f.read(200_000):
                            found.append(path)
                except OSError:
                    pass
        if time.monotonic() - started > 4 or looked > 300_000:
            break
    readable = False
    try:
        with open("__PLANTED__") as f:
            readable = "def multihead_attention" in f.read()
    except OSError:
        pass
    wrote = False
    try:
        with open(os.path.join("__RESULTS__", "results.json"), "w") as f:
            f.write('{"score": 21}')
        wrote = True
    except OSError:
        pass
    print("WALKED " + json.dumps({"found": found, "planted_readable": readable, "wrote_results": wrote},
                                 sort_keys=True), flush=True)


report()
