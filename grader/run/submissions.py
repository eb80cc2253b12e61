"""Find every student of a class in a folder of submissions, in the layout an LMS downloads.

Layouts (recognised by themselves; ``layout=`` forces one):

- ``plain``: ``alice.py``, ``alice/solution.py`` or ``alice/<the one .py file>``;
- ``canvas``: Canvas's "Download Submissions": one flat folder of files named
  ``<name>[_LATE]_<user id>_<submission id>_<file name>`` (``bobjones_LATE_23456_78901_solution.py``);
- ``moodle``: Moodle's "Download all submissions": ``<Full Name>_<participant id>_assignsubmission_file_/``
  folders (or, with "download as folders" off, files with that prefix);
- ``gradescope``: Gradescope's "Export Submissions": ``submission_<id>/`` folders and a
  ``submission_metadata.yml`` that names each folder's submitters.

Every entry becomes exactly one :class:`Entry`: a file to grade, or the reason it
cannot be graded ("no submission", "two candidate files: a.py, b.py", "not Python
source", "larger than 1 MB"). Ids keep Unicode (NFC), are safe as a folder name,
and never merge: when two entries would get the same id (``alice.py`` beside
``alice/``, Zoë twice), the later one gets a distinct id and a warning says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

PLAIN, CANVAS, MOODLE, GRADESCOPE = "plain", "canvas", "moodle", "gradescope"
LAYOUTS = (PLAIN, CANVAS, MOODLE, GRADESCOPE)
SOLUTION = "solution.py"
MAX_SOURCE_BYTES = 1 << 20
GRADESCOPE_METADATA = "submission_metadata.yml"
MAX_ID = 80

CANVAS_FILE = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user_id>\d+)_(?P<submission_id>\d+)_(?P<file>.+)$")
MOODLE_ENTRY = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<file>.*)$")
JUNK = re.compile(r"^(\..*|__MACOSX|Thumbs\.db|desktop\.ini|__pycache__)$", re.I)

NO_SUBMISSION = "no submission"
MSG_TWO = "two candidate files: {files} (upload one .py file, or name the one to grade solution.py)"
MSG_NOT_PYTHON = "not Python source ({files}): upload a .py file"
MSG_TOO_LARGE = "larger than 1 MB ({size:.1f} MB): a solution is a few kB"
MSG_LINK = "a link, not a file: upload the file itself"
MSG_EMPTY = "the submission is an empty file"
MSG_COLLISION = "two entries both have the id {id!r} ({first} and {second}); the second is graded as {new!r}"


@dataclass(frozen=True)
class Entry:
    """One student (or one entry of the class) and what to grade for them."""

    student: str                    # the id: unique in the class, safe as a folder name
    source: str                     # where it is in SUBMISSIONS, as a relative path
    path: Path | None = None        # the file to grade; None when ``problem`` says why not
    problem: str | None = None
    identity: dict[str, str] = field(default_factory=dict)  # name, user_id, participant_id, sid, email, late


@dataclass(frozen=True)
class Found:
    layout: str
    entries: tuple[Entry, ...]
    skipped: tuple[str, ...] = ()   # things in the folder that are no student's entry
    warnings: tuple[str, ...] = ()


def safe_id(name: str) -> str:
    """A folder-safe id that keeps the name readable: Unicode letters stay (NFC), separators and
    control characters become ``_``, no leading dot, at most ``MAX_ID`` characters."""
    name = unicodedata.normalize("NFC", name)
    cleaned = "".join("_" if ch in '/\\:*?"<>|,;' or unicodedata.category(ch)[0] in "CZ" and ch != " " else ch
                      for ch in name)
    cleaned = re.sub(r"[\s_]+", "_", cleaned).lstrip("._").rstrip("_")[:MAX_ID].rstrip(". ")
    return cleaned or "unnamed"


def printable(text: str) -> str:
    """``text`` with control, format and surrogate characters written as visible escapes: file
    names and LMS metadata come from students, and reach the terminal and every output file."""
    def visible(ch: str) -> str:
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            return ch
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    return "".join(visible(ch) for ch in str(text))


def _printable_entry(entry: Entry) -> Entry:
    return Entry(entry.student, printable(entry.source), entry.path,
                 None if entry.problem is None else printable(entry.problem),
                 {k: printable(v) for k, v in entry.identity.items()})


def detect(folder: Path) -> str:
    """The layout of ``folder``, from what is in it."""
    names = [p.name for p in _listing(folder)]
    if GRADESCOPE_METADATA in names:
        return GRADESCOPE
    moodle = sum(bool(MOODLE_ENTRY.match(n)) for n in names)
    canvas = sum(bool(CANVAS_FILE.match(n)) and (folder / n).is_file() for n in names)
    if moodle and moodle >= canvas:
        return MOODLE
    if canvas and canvas >= len(names) / 2:
        return CANVAS
    return PLAIN


def find(folder: Path, *, layout: str | None = None) -> Found:
    """Every entry of the class in ``folder`` (see the module's docstring for the layouts)."""
    folder = _unwrap(Path(folder))
    layout = layout or detect(folder)
    finder = {PLAIN: _plain, CANVAS: _canvas, MOODLE: _moodle, GRADESCOPE: _gradescope}[layout]
    raw, skipped = finder(folder)
    entries, warnings = unique([_printable_entry(e) for e in raw])
    return Found(layout=layout, entries=tuple(entries), skipped=tuple(printable(s) for s in skipped),
                 warnings=tuple(warnings))


def _listing(folder: Path) -> list[Path]:
    return sorted((p for p in Path(folder).iterdir() if not JUNK.match(p.name)), key=lambda p: p.name)


def _unwrap(folder: Path) -> Path:
    """An archive often holds one folder that holds the class: look inside it."""
    while True:
        inside = _listing(folder)
        if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink() and not _is_entry(inside[0]):
            folder = inside[0]
        else:
            return folder


def _is_entry(path: Path) -> bool:
    if MOODLE_ENTRY.match(path.name):
        return True
    files = [p for p in _listing(path) if p.is_file()]
    return any(p.suffix == ".py" for p in files) and not any(p.name == GRADESCOPE_METADATA for p in files)


def _choose(files: list[Path], base: Path, *, strip=lambda name: name) -> tuple[Path | None, str | None]:
    """The one file to grade among a student's ``files`` (or why there is none)."""
    if not files:
        return None, NO_SUBMISSION
    links = [f for f in files if f.is_symlink()]
    if links:
        return None, MSG_LINK
    python = [f for f in files if strip(f.name).endswith(".py")]
    if not python:
        return None, MSG_NOT_PYTHON.format(files=", ".join(sorted(strip(f.name) for f in files)))
    if len(python) > 1:
        named = [f for f in python if re.sub(r"-\d+(?=\.py$)", "", strip(f.name)) == SOLUTION]
        if len(named) != 1:
            return None, MSG_TWO.format(files=", ".join(sorted(strip(f.name) for f in python)))
        python = named
    path = python[0]
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        return None, MSG_TOO_LARGE.format(size=size / 1e6)
    if size == 0:
        return None, MSG_EMPTY
    return path, None


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if (p.is_file() or p.is_symlink())
                  and not any(JUNK.match(part) for part in p.relative_to(folder).parts))


def _rel(path: Path, base: Path) -> str:
    return str(path.relative_to(base))


def _plain(folder: Path) -> tuple[list[Entry], list[str]]:
    entries, skipped = [], []
    for path in _listing(folder):
        if path.is_symlink():
            entries.append(Entry(safe_id(path.stem if path.suffix == ".py" else path.name), path.name,
                                 problem=MSG_LINK, identity={"name": path.stem}))
        elif path.is_file():
            if path.suffix == ".py":
                chosen, problem = _choose([path], folder)
                entries.append(Entry(safe_id(path.stem), path.name, chosen, problem, {"name": path.stem}))
            else:
                skipped.append(path.name)
        elif path.is_dir():
            files = _files_under(path)
            top = [f for f in files if f.parent == path]
            chosen, problem = _choose(top if any(f.name == SOLUTION for f in top) else files, folder)
            entries.append(Entry(safe_id(path.name), path.name + "/", chosen, problem, {"name": path.name}))
    return entries, skipped


def _canvas(folder: Path) -> tuple[list[Entry], list[str]]:
    students: dict[str, list[tuple[Path, re.Match]]] = {}
    skipped = []
    for path in _listing(folder):
        match = CANVAS_FILE.match(path.name)
        if match is None or path.is_dir():
            skipped.append(path.name + ("/" if path.is_dir() else ""))
            continue
        students.setdefault(match["user_id"], []).append((path, match))
    entries = []
    for user_id, files in students.items():
        first = files[0][1]
        originals = {p.name: m["file"] for p, m in files}
        chosen, problem = _choose([p for p, _ in files], folder, strip=lambda name: originals.get(name, name))
        identity = {"name": first["name"], "user_id": user_id, "submission_id": first["submission_id"]}
        if any(m["late"] for _, m in files):
            identity["late"] = "yes"
        entries.append(Entry(safe_id(first["name"]), ", ".join(p.name for p, _ in files), chosen, problem,
                             identity))
    return sorted(entries, key=lambda e: (e.student.casefold(), e.identity["user_id"])), skipped


def _moodle(folder: Path) -> tuple[list[Entry], list[str]]:
    students: dict[str, dict] = {}
    skipped = []
    for path in _listing(folder):
        match = MOODLE_ENTRY.match(path.name)
        if match is None:
            skipped.append(path.name + ("/" if path.is_dir() else ""))
            continue
        student = students.setdefault(match["participant"], {"name": match["name"].replace("_", " "),
                                                              "files": [], "sources": []})
        student["sources"].append(path.name + ("/" if path.is_dir() else ""))
        if match["plugin"] != "file":
            continue  # online text, comments: nothing to grade, but the student is accounted for
        student["files"] += _files_under(path) if path.is_dir() else [path]
    entries = []
    for participant, student in students.items():
        chosen, problem = _choose(student["files"], folder, strip=_moodle_file_name)
        identity = {"name": student["name"], "participant_id": participant}
        entries.append(Entry(safe_id(student["name"]), ", ".join(student["sources"]), chosen, problem, identity))
    return sorted(entries, key=lambda e: (e.student.casefold(), e.identity["participant_id"])), skipped


def _moodle_file_name(name: str) -> str:
    match = MOODLE_ENTRY.match(name)
    return match["file"] if match and match["file"] else name


def _gradescope(folder: Path) -> tuple[list[Entry], list[str]]:
    import yaml

    try:
        metadata = yaml.safe_load((folder / GRADESCOPE_METADATA).read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ValueError(f"{folder / GRADESCOPE_METADATA}: not readable YAML ({error}).") from None
    entries, skipped = [], []
    known = set()
    for key, info in sorted(metadata.items()) if isinstance(metadata, dict) else ():
        known.add(str(key))
        submitters = (info or {}).get(":submitters") or (info or {}).get("submitters") or [{}]
        path = folder / str(key)
        files = _files_under(path) if path.is_dir() else []
        chosen, problem = _choose(files, folder)
        for submitter in submitters:
            submitter = {str(k).lstrip(":"): str(v) for k, v in (submitter or {}).items() if v is not None}
            identity = {"name": submitter.get("name", str(key)), "submission_id": str(key).split("_")[-1]}
            identity.update({k: submitter[k] for k in ("sid", "email") if submitter.get(k)})
            entries.append(Entry(safe_id(identity["name"]), str(key) + "/", chosen, problem, identity))
    for path in _listing(folder):
        if path.name != GRADESCOPE_METADATA and path.name not in known:
            skipped.append(path.name + ("/" if path.is_dir() else ""))
    return sorted(entries, key=lambda e: e.student.casefold()), skipped


def unique(entries: list[Entry]) -> tuple[list[Entry], list[str]]:
    """The same entries with ids that never collide, even on a case-insensitive file system."""
    taken: dict[str, Entry] = {}
    out, warnings = [], []
    for entry in entries:
        student = entry.student
        if student.casefold() in taken:
            first = taken[student.casefold()]
            lms = entry.identity.get("user_id") or entry.identity.get("participant_id") or entry.identity.get("sid")
            candidates = ([f"{student}-{lms}"] if lms else []) + [f"{student}-{n}" for n in range(2, 10_000)]
            new = next(c for c in candidates if c.casefold() not in taken)
            warnings.append(MSG_COLLISION.format(id=student, first=first.source, second=entry.source, new=new))
            entry = Entry(new, entry.source, entry.path, entry.problem, entry.identity)
        taken[entry.student.casefold()] = entry
        out.append(entry)
    return out, warnings
