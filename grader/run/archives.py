"""Unpack a class's archive (.zip, .tar.gz) safely, before anything in it is looked at.

An LMS download is untrusted input: every member is checked before a byte is
written. Refused with one sentence: absolute paths, ``..``, links and devices,
more than ``MAX_FILES`` members, more than ``MAX_BYTES`` unpacked in all (counted
as the bytes are written, not taken from the headers, so a zip bomb whose
headers lie is stopped too), and a compression ratio no real class reaches.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

MAX_FILES = 20_000
MAX_BYTES = 1 << 30          # 1 GiB unpacked, in all
MAX_RATIO = 200              # unpacked / packed: text compresses ~5-10x; zip bombs reach thousands
SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
CHUNK = 1 << 16

MSG_BOMB = ("{archive}: refused: it would unpack to more than {limit} ({what}); "
            "a class download is far smaller (a zip bomb?).")


class ArchiveError(ValueError):
    """The archive cannot be unpacked safely; the message is one sentence naming the member at fault."""


def is_archive(path: Path) -> bool:
    return Path(path).is_file() and Path(path).name.lower().endswith(SUFFIXES)


def _member_path(archive: Path, name: str) -> PurePosixPath:
    """The member's path, refused if it could land outside the folder it is unpacked into."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (path.parts and path.parts[0].endswith(":")):
        raise ArchiveError(f"{archive.name}: refused: member {name!r} has an absolute path.")
    if ".." in path.parts:
        raise ArchiveError(f"{archive.name}: refused: member {name!r} climbs out of the archive with '..'.")
    if "\x00" in name:
        raise ArchiveError(f"{archive.name}: refused: member {name!r} has a NUL in its name.")
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def _human(size: int) -> str:
    return f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):g} MiB"


class _Budget:
    def __init__(self, archive: Path, packed: int, max_bytes: int) -> None:
        self.archive, self.written = archive, 0
        self.limit = min(max_bytes, max(packed, 1 << 20) * MAX_RATIO)

    def declare(self, size: int) -> None:
        if size > self.limit:
            raise ArchiveError(MSG_BOMB.format(archive=self.archive.name, limit=_human(self.limit),
                                               what=f"its headers declare {_human(size)}"))

    def copy(self, source: BinaryIO, target: Path) -> None:
        with open(target, "xb") as out:
            while chunk := source.read(CHUNK):
                self.written += len(chunk)
                if self.written > self.limit:
                    raise ArchiveError(MSG_BOMB.format(archive=self.archive.name, limit=_human(self.limit),
                                                       what="counted while unpacking"))
                out.write(chunk)


def _zip_members(archive: Path, budget: _Budget) -> Iterator[tuple[PurePosixPath, bool, BinaryIO | None]]:
    with zipfile.ZipFile(archive) as package:
        infos = package.infolist()
        _count(archive, len(infos))
        budget.declare(sum(info.file_size for info in infos))
        for info in infos:
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip was made without Unix modes
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(f"{archive.name}: refused: member {info.filename!r} is a link or a device, "
                                   "not a file.")
            path = _member_path(archive, info.filename)
            if info.is_dir():
                yield path, True, None
            else:
                with package.open(info) as source:
                    yield path, False, source


def _tar_members(archive: Path, budget: _Budget) -> Iterator[tuple[PurePosixPath, bool, BinaryIO | None]]:
    with tarfile.open(archive) as package:
        members = package.getmembers()
        _count(archive, len(members))
        budget.declare(sum(m.size for m in members))
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise ArchiveError(f"{archive.name}: refused: member {member.name!r} is a link or a device, "
                                   "not a file.")
            path = _member_path(archive, member.name)
            if member.isdir():
                yield path, True, None
            else:
                yield path, False, package.extractfile(member)


def _count(archive: Path, count: int) -> None:
    if count > MAX_FILES:
        raise ArchiveError(f"{archive.name}: refused: it holds {count} files, more than the {MAX_FILES} "
                           "a class download could.")


def extract(archive: Path, into: Path, *, max_bytes: int = MAX_BYTES) -> Path:
    """Unpack ``archive`` into the new folder ``into``; on any refusal nothing is left behind."""
    archive, into = Path(archive), Path(into)
    name = archive.name.lower()
    budget = _Budget(archive, archive.stat().st_size, max_bytes)
    members = _zip_members if name.endswith(".zip") else _tar_members
    into.mkdir(parents=True)
    try:
        try:
            for path, is_dir, source in members(archive, budget):
                if not path.parts:
                    continue
                target = into.joinpath(*path.parts)
                if is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    raise ArchiveError(f"{archive.name}: refused: member {str(path)!r} appears twice.")
                budget.copy(source, target)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
            if isinstance(error, FileExistsError):
                raise ArchiveError(f"{archive.name}: refused: a member appears twice ({error.filename}).") from None
            raise ArchiveError(f"{archive.name}: not a readable archive ({error}).") from None
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise
    return into
