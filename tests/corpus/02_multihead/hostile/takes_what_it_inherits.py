# corpus: hostile
"""Hostile: takes what a child forked from the grader's forkserver would inherit: the
descriptors (the resource tracker's pipe, the forkserver's alive pipe, the grader's terminal
as standard input), multiprocessing's state (the tracker's descriptor, the forkserver's
address) and the environment (a token in the grader's), and reports them.

The test fills in __TOKEN__ (a secret it put in the grader's environment)."""
import json
import os
import stat


def _kind(fd):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None
    for name, test in (("socket", stat.S_ISSOCK), ("pipe", stat.S_ISFIFO), ("tty", stat.S_ISCHR),
                       ("file", stat.S_ISREG), ("dir", stat.S_ISDIR)):
        if test(mode):
            return name
    return "other"


def report():
    fds = {fd: _kind(fd) for fd in range(1024) if _kind(fd)}
    from multiprocessing import forkserver, resource_tracker
    taken = {
        "fds": fds,
        "tracker_fd": resource_tracker._resource_tracker._fd,
        "forkserver_address": bool(forkserver._forkserver._forkserver_address),
        "alive_fd": forkserver._forkserver._forkserver_alive_fd,
        "stdin_writable": False,
        "token_in_environ": "__TOKEN__" in json.dumps(dict(os.environ)),
        "token_in_proc": False,
        "environ_keys": sorted(os.environ),
    }
    try:
        os.write(0, b"\x1b]0;grade-pwned\x07")
        taken["stdin_writable"] = True
    except OSError:
        pass
    for pid in ("self", "1", str(os.getppid())):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                taken["token_in_proc"] |= b"__TOKEN__" in f.read()
        except OSError:
            pass
    # Through the tracker's pipe: ask it to unlink a file when grading ends (a root process outside).
    for fd, kind in fds.items():
        if fd > 2 and kind == "pipe":
            try:
                os.write(fd, b"REGISTER:/grade-pwned-by-tracker:shared_memory\n")
                taken.setdefault("wrote_to", []).append(fd)
            except OSError:
                pass
    print("TAKEN " + json.dumps(taken, sort_keys=True), flush=True)


report()
