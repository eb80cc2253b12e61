# corpus: hostile
"""Hostile: the system calls a deny-list forgets. io_uring makes sockets without socket();
the user keyring is a channel every child of one user shares; bpf, perf_event_open,
userfaultfd, ptrace and process_vm_readv reach into the kernel or other processes;
inotify watches classmates' files; System V and POSIX message queues outlive the child;
kill and prlimit reach the grader; TIOCSTI types into a terminal; open_by_handle_at opens
files by number. Each is tried and reported as it answered.

Runnable on its own too (``python uses_forbidden_syscalls.py``), to see what an unfiltered
process gets (without the calls that would reach the process that runs it)."""
import ctypes
import json
import os

X86_64 = {"io_uring_setup": 425, "add_key": 248, "keyctl": 250, "bpf": 321, "perf_event_open": 298,
          "userfaultfd": 323, "ptrace": 101, "process_vm_readv": 310, "inotify_init1": 294, "shmget": 29,
          "msgget": 68, "mq_open": 240, "kill": 62, "prlimit64": 302, "ioctl": 16, "socketpair": 53,
          "open_by_handle_at": 304, "memfd_create": 319, "fanotify_init": 300, "pidfd_open": 434,
          "setpgid": 109, "chmod": 90, "symlink": 88, "link": 86, "fcntl": 72, "sched_setaffinity": 203}


# What an unfiltered process must not try on the machine that runs the tests: these reach the
# test process itself (attach to it, signal it, type into its terminal).
DANGEROUS = ("ptrace", "process_vm_readv", "kill", "ioctl", "setpgid", "fcntl", "sched_setaffinity")


def attempts(skip=()):
    if os.uname().machine != "x86_64":
        return {}
    libc = ctypes.CDLL(None, use_errno=True)
    call = libc.syscall
    call.restype = ctypes.c_long
    parent = os.getppid() or -1   # in a PID namespace there is no parent to name: every process then
    params = ctypes.create_string_buffer(120)
    limits = ctypes.create_string_buffer(16)
    pair = (ctypes.c_int * 2)()
    tries = {
        "io_uring_setup": (X86_64["io_uring_setup"], ctypes.c_uint(4), params),
        "add_key": (X86_64["add_key"], b"user", b"grade-channel", b"secret", ctypes.c_size_t(6), ctypes.c_int(-4)),
        "keyctl": (X86_64["keyctl"], 0, -4, 0),                       # KEYCTL_GET_KEYRING_ID of the user keyring
        "bpf": (X86_64["bpf"], 0, params, 48),
        "perf_event_open": (X86_64["perf_event_open"], params, 0, -1, -1, 0),
        "userfaultfd": (X86_64["userfaultfd"], 0),
        "ptrace": (X86_64["ptrace"], 16, parent, 0, 0),               # PTRACE_ATTACH
        "process_vm_readv": (X86_64["process_vm_readv"], parent, params, 1, params, 1, 0),
        "inotify_init1": (X86_64["inotify_init1"], 0),
        "shmget": (X86_64["shmget"], 0, 4096, 0o1000 | 0o600),
        "msgget": (X86_64["msgget"], 0, 0o1000 | 0o600),
        "mq_open": (X86_64["mq_open"], b"grade-mq", 0o100 | 2, 0o600, None),
        "kill": (X86_64["kill"], parent, 0),
        "prlimit64": (X86_64["prlimit64"], parent, 7, None, limits),  # read the parent's RLIMIT_NOFILE
        "ioctl": (X86_64["ioctl"], 0, 0x5412, b"x"),                  # TIOCSTI on standard input
        "socketpair": (X86_64["socketpair"], 1, 1, 0, pair),
        "open_by_handle_at": (X86_64["open_by_handle_at"], -100, params, 0),
        "memfd_create": (X86_64["memfd_create"], b"grade", 0),
        "fanotify_init": (X86_64["fanotify_init"], 0, 0),
        "pidfd_open": (X86_64["pidfd_open"], parent, 0),
        "setpgid": (X86_64["setpgid"], 0, parent),
        "chmod": (X86_64["chmod"], b"grade-probe", 0o4777),
        "symlink": (X86_64["symlink"], b"/", b"grade-link"),
        "link": (X86_64["link"], b"/etc/hostname", b"grade-hardlink"),
        "fcntl": (X86_64["fcntl"], 1, 8, parent),                     # F_SETOWN: SIGIO to the parent
        "sched_setaffinity": (X86_64["sched_setaffinity"], parent, 8, limits),
    }
    open("grade-probe", "w").close()   # in the working directory: the one chmod tries
    answers = {}
    for name, args in tries.items():
        if name in skip:
            continue
        result = call(*args)
        answers[name] = "ok" if result >= 0 else os.strerror(ctypes.get_errno())
        if result >= 0:
            _undo(call, name, result)
    return answers


def _undo(call, name, result):
    """Take back what a call that went through made (so that running this unfiltered leaves nothing)."""
    if name == "shmget":
        call(X86_64["shmget"] + 2, result, 0, None)     # shmctl(IPC_RMID)
    elif name == "msgget":
        call(71, result, 0, None)                       # msgctl(IPC_RMID)
    elif name == "mq_open":
        call(241, b"grade-mq")                          # mq_unlink
    elif name == "add_key":
        call(X86_64["keyctl"], 3, result)               # KEYCTL_REVOKE
    elif name in ("symlink", "link"):
        os.unlink("grade-link" if name == "symlink" else "grade-hardlink")


if __name__ == "__main__":
    print("SYSCALLS " + json.dumps(attempts(skip=DANGEROUS), sort_keys=True), flush=True)
elif __name__ == "solution":   # as the grader loads a submission
    print("SYSCALLS " + json.dumps(attempts(), sort_keys=True), flush=True)
