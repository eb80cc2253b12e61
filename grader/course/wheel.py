"""A wheel of this package made from the installed files, for the Gradescope bundle and the handout.

It is built from what is importable here (a checkout or an installed wheel alike), so an
instructor who only ran ``pip install attention-grader`` can still make a bundle. The
wheel is a plain zip in the wheel format (PEP 427: ``*.dist-info`` with METADATA, WHEEL,
entry_points.txt and a RECORD of SHA-256 digests), written with fixed timestamps so the
same files always give the same bytes. Two kinds:

- ``full``: ``grader``, ``attention_reference`` and the shipped exercises (the bundle's);
- ``student``: ``grader`` only: no reference solution, no mistakes bank, no exercises (the handout's).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

import grader
from grader.course import library

DISTRIBUTION = "attention-grader"
WHEEL_NAME = "attention_grader"
REFERENCE = "attention_reference"
FALLBACK_REQUIRES = ("click>=8.1", "click-default-group>=1.2.4", "hypothesis>=6.100", "jinja2>=3.1",
                     "numpy>=1.24", "pytest>=8.4", "pyyaml>=6", "torch>=2.1")
EPOCH = (2020, 1, 1, 0, 0, 0)
SKIP_PARTS = ("__pycache__",)


def _requires() -> list[str]:
    try:
        requires = importlib.metadata.distribution(DISTRIBUTION).requires or []
    except importlib.metadata.PackageNotFoundError:
        requires = list(FALLBACK_REQUIRES)
    return [r for r in requires if "extra ==" not in r]


def _files(package_dir: Path, prefix: str, *, skip: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(package_dir.rglob("*")):
        if not path.is_file() or any(part in SKIP_PARTS for part in path.parts) or path.suffix == ".pyc":
            continue
        if any(path.is_relative_to(s) for s in skip) or path.name.startswith(".last-grade"):
            continue
        out.append((f"{prefix}/{path.relative_to(package_dir).as_posix()}", path))
    return out


def contents(kind: str = "full") -> list[tuple[str, Path]]:
    """(path in the wheel, file here) for every file a wheel of ``kind`` holds, besides its dist-info."""
    package = Path(grader.__file__).resolve().parent
    files = _files(package, "grader", skip=(package / "exercises",))
    if kind == "full":
        import attention_reference

        files += _files(Path(attention_reference.__file__).resolve().parent, REFERENCE)
        shipped = library.home()
        if shipped is not None:
            files += _files(shipped, "grader/exercises")
    elif kind != "student":
        raise ValueError(f"kind must be 'full' or 'student', not {kind!r}")
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(out_dir: Path, *, kind: str = "full") -> Path:
    """Write the wheel into ``out_dir``; returns its path."""
    version = grader.__version__ + ("" if kind == "full" else "+student")
    info = f"{WHEEL_NAME}-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}",
        "Summary: Autograded exercises and a sandboxed, property-testing grader for attention mechanisms.",
        "License: MIT", "Requires-Python: >=3.11", *(f"Requires-Dist: {r}" for r in _requires()), "", ""])
    wheel_meta = "Wheel-Version: 1.0\nGenerator: grader.course.wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entry_points = "[console_scripts]\ngrade = grader.cli:main\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{WHEEL_NAME}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        def add(name: str, data: bytes) -> None:
            member = zipfile.ZipInfo(name, EPOCH)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(member, data)
            record.append(_record_line(name, data))

        for name, source in contents(kind):
            add(name, source.read_bytes())
        add(f"{info}/METADATA", metadata.encode())
        add(f"{info}/WHEEL", wheel_meta.encode())
        add(f"{info}/entry_points.txt", entry_points.encode())
        record.append(f"{info}/RECORD,,")
        member = zipfile.ZipInfo(f"{info}/RECORD", EPOCH)
        member.external_attr = 0o644 << 16
        wheel.writestr(member, "\n".join(record) + "\n")
    return path
