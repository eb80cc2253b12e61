"""Isolation applied inside the sandboxed child, before the submission is loaded.

Runs on the untrusted side (imported by ``grader.child``), so it imports only the
standard library. ``enter`` applies the limits named in the child's config and
returns the name of the level it reached, which the grader reports.

Levels, weakest first:

``rlimits``     resource limits (address space, CPU time, file size, open files,
                no core dumps), a private scratch working directory, own session
"""

from __future__ import annotations

import os
import resource
from typing import Any

LEVEL_RLIMITS = "rlimits"


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_rlimits(limits: dict[str, Any]) -> None:
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_AS, int(limits["memory_mib"]) << 20)
    _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mib"]) << 20)
    _limit(resource.RLIMIT_NOFILE, 256)


def enter(config: dict[str, Any]) -> str:
    """Apply isolation in this (child) process; return the level reached."""
    scratch = config["scratch"]
    os.chdir(scratch)
    os.environ["HOME"] = scratch
    os.environ["TMPDIR"] = scratch
    apply_rlimits(config["limits"])
    return LEVEL_RLIMITS


LEVEL_NAMESPACES = "namespaces"


def strongest_available() -> str:
    """The strongest level this machine can give a child."""
    return LEVEL_RLIMITS
