"""Reading a submission's bytes, by the grader, before any child exists.

The child never opens the student's file: the grader reads it here and hands the bytes
over (the child checks their hash before loading them). So a submission that is a link
to the reference (absolute or ``../``), a FIFO that blocks, a 30 MB file, or a file
swapped by a classmate after the grader looked at it gets nothing from the file system:

- the file is opened relative to its folder with ``O_NOFOLLOW`` (a link is refused, and
  nothing resolves outside that folder), non-blocking, and must be a regular file;
- its size is checked on the open descriptor before reading, and reading stops at the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SOURCE_BYTES = 1 << 20   # 1 MiB: a hundred times a long solution


class SourceRefused(Exception):
    """The submission's file cannot be graded (the message says why, in one line)."""


def read_submission(path: Path, *, max_bytes: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of ``path``, read without following a link at its last step."""
    path = Path(path)
    name = path.name
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise SourceRefused(f"{name}: its folder cannot be opened ({error.strerror}).") from None
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except OSError as error:
            if error.errno == 40 or os.path.islink(path):   # ELOOP: the last step is a link
                raise SourceRefused(f"{name} is a symbolic link; a submission must be a plain file.") from None
            raise SourceRefused(f"{name} cannot be read ({error.strerror}).") from None
    finally:
        os.close(folder)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceRefused(f"{name} is not a plain file; a submission must be a plain file.")
        if info.st_size > max_bytes:
            raise SourceRefused(f"{name} is {info.st_size / (1 << 20):.1f} MiB; a submission may be at most "
                                f"{max_bytes / (1 << 20):g} MiB.")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 16, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise SourceRefused(f"{name} grew past {max_bytes / (1 << 20):g} MiB while it was read.")
        return b"".join(chunks)
    finally:
        os.close(fd)
