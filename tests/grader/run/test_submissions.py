"""Finding a class in LMS downloads (grader.run.submissions, roster, archives), on real archives
built with each LMS's own naming (tests/lms_archives.py). No grading here: see test_class_lms.py."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest

from grader.run import archives, roster, submissions
from lms_archives import (Student, canvas_name, canvas_roster, canvas_zip, gradescope_export, moodle_roster,
                          moodle_zip)

CODE = b"def f():\n    return 1\n"


def _unpacked(tmp_path, archive):
    return archives.extract(archive, tmp_path / "unpacked")


def _by_id(found):
    return {e.student: e for e in found.entries}


# -- Canvas ------------------------------------------------------------------------------

CANVAS = [
    Student("Bob", "Jones", {"solution.py": CODE}, user_id=23456, sis_id="S-23456", login="bjones", late=True),
    Student("Alice", "Smith", {"solution-1.py": CODE}, user_id=12345, sis_id="S-12345"),  # a resubmission's name
    Student("Dan", "Doe", {"attention.py": CODE, "helpers.py": CODE}, user_id=45678),
    Student("Eve", "Ng", {"solution.txt": b"print(1)"}, user_id=56789),
    Student("Fay", "Wu", {"my_attention.py": CODE}, user_id=67890),
]


def test_canvas_file_names_become_students_with_their_canvas_ids(tmp_path):
    assert canvas_name(CANVAS[0]) == "jonesbob"
    folder = _unpacked(tmp_path, canvas_zip(tmp_path / "submissions.zip", CANVAS))
    assert submissions.detect(folder) == submissions.CANVAS
    found = submissions.find(folder)
    entries = _by_id(found)
    assert set(entries) == {"jonesbob", "smithalice", "doedan", "ngeve", "wufay"}
    bob = entries["jonesbob"]
    assert bob.identity == {"name": "jonesbob", "user_id": "23456", "submission_id": bob.identity["submission_id"],
                            "late": "yes"}
    assert bob.path.name == "jonesbob_LATE_23456_900001_solution.py" and bob.problem is None
    assert entries["smithalice"].path.name.endswith("_12345_900002_solution-1.py")
    assert entries["doedan"].problem.startswith("two candidate files: attention.py, helpers.py")
    assert entries["ngeve"].problem.startswith("not Python source (solution.txt)")
    assert entries["wufay"].path.name.endswith("_my_attention.py")  # one .py file, whatever its name
    assert not found.warnings and not found.skipped


def test_a_canvas_roster_fills_in_sis_ids_and_adds_who_did_not_submit(tmp_path):
    folder = _unpacked(tmp_path, canvas_zip(tmp_path / "submissions.zip", CANVAS[:2]))
    absent = Student("Gil", "Ox", {}, user_id=77777, sis_id="S-77777", section="B")
    people = roster.read_roster(canvas_roster(tmp_path / "gradebook.csv", [*CANVAS[:2], absent]))
    assert [p["name"] for p in people] == ["Jones, Bob", "Smith, Alice", "Ox, Gil"]  # no Points Possible, no test student
    entries, warnings = roster.match(list(submissions.find(folder).entries), people)
    by_name = {e.identity.get("name"): e for e in entries}
    assert by_name["Jones, Bob"].identity["sis_id"] == "S-23456" and by_name["Jones, Bob"].path is not None
    assert by_name["Ox, Gil"].problem == submissions.NO_SUBMISSION and by_name["Ox, Gil"].identity["user_id"] == "77777"
    assert not warnings


# -- Moodle ------------------------------------------------------------------------------

MOODLE = [
    Student("Ada", "Lovelace", {"solution.py": CODE}, user_id=123456, email="ada@uni.example"),
    Student("Zoë", "Ng", {"solution.py": CODE}, user_id=123457),
    Student("Zoé", "Ng", {"solution.py": CODE}, user_id=123458),
    Student("雷", "李", {"solution.py": CODE}, user_id=123459),
    Student("梅", "韩", {"attention.py": CODE}, user_id=123460),
    Student("José", "Núñez", {"solution.py": CODE}, user_id=123461),
    Student("Josè", "Núñez", {"solution.py": CODE}, user_id=123462),
]


def test_moodle_folders_keep_unicode_names_and_never_merge(tmp_path):
    lazy = Student("Tim", "Late", {}, user_id=123463)
    folder = _unpacked(tmp_path, moodle_zip(tmp_path / "moodle.zip", MOODLE, online_text=(lazy,)))
    assert submissions.detect(folder) == submissions.MOODLE
    found = submissions.find(folder)
    entries = _by_id(found)
    assert set(entries) == {"Ada_Lovelace", "Zoë_Ng", "Zoé_Ng", "雷_李", "梅_韩", "José_Núñez", "Josè_Núñez",
                            "Tim_Late"}
    assert entries["Zoë_Ng"].identity["participant_id"] == "123457"
    assert entries["梅_韩"].path.name == "attention.py"
    assert entries["Tim_Late"].problem == submissions.NO_SUBMISSION  # online text only: accounted for
    assert all(e.path is not None for k, e in entries.items() if k != "Tim_Late")


def test_a_moodle_roster_gives_emails_and_id_numbers(tmp_path):
    people = [Student("Ada", "Lovelace", {}, sis_id="2026001", email="ada@uni.example"),
              Student("Zoë", "Ng", {}, sis_id="2026002", email="zoe@uni.example")]
    folder = _unpacked(tmp_path, moodle_zip(tmp_path / "moodle.zip", MOODLE[:3]))
    listed = roster.read_roster(moodle_roster(tmp_path / "grades.csv", people))
    entries, warnings = roster.match(list(submissions.find(folder).entries), listed)
    by_id = {e.student: e for e in entries}
    assert by_id["Ada_Lovelace"].identity["email"] == "ada@uni.example"
    assert by_id["Zoë_Ng"].identity["sis_id"] == "2026002"  # not given to Zoé, whose name differs
    assert "sis_id" not in by_id["Zoé_Ng"].identity
    assert warnings and "Zoé_Ng" in warnings[0] and "not on the roster" in warnings[0]


# -- Gradescope export ---------------------------------------------------------------------

def test_a_gradescope_export_names_each_folder_by_its_metadata(tmp_path):
    students = [Student("Ada", "Lovelace", {"solution.py": CODE}, user_id=101, sis_id="9001", email="ada@x.edu"),
                Student("Bo", "Li", {}, user_id=102, sis_id="9002", email="bo@x.edu")]
    folder = _unpacked(tmp_path, gradescope_export(tmp_path / "export.tar.gz", students))
    found = submissions.find(folder)
    assert found.layout == submissions.GRADESCOPE
    entries = _by_id(found)
    assert entries["Ada_Lovelace"].identity == {"name": "Ada Lovelace", "submission_id": "101", "sid": "9001",
                                                "email": "ada@x.edu"}
    assert entries["Ada_Lovelace"].path.name == "solution.py"
    assert entries["Bo_Li"].problem == submissions.NO_SUBMISSION


# -- plain folders and ids -----------------------------------------------------------------

def test_plain_ids_never_collide_and_never_take_an_output_name(tmp_path):
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    (klass / "alice" / "solution.py").write_bytes(CODE)
    (klass / "alice.py").write_bytes(CODE)
    (klass / "Bob.py").write_bytes(CODE)
    (klass / "bob.py").write_bytes(CODE)
    (klass / "grades.csv.py").write_bytes(CODE)
    (klass / "index.html.py").write_bytes(CODE)
    (klass / "notes.txt").write_text("not a submission")
    (klass / ".DS_Store").write_text("junk")
    found = submissions.find(klass)
    ids = [e.student for e in found.entries]
    assert len(ids) == len({i.casefold() for i in ids}) == 6  # six entries, six distinct ids
    assert {"alice", "alice-2", "grades.csv", "index.html"} <= set(ids)
    assert len(found.warnings) == 2 and all("both have the id" in w for w in found.warnings)
    assert found.skipped == ("notes.txt",)


def test_too_large_empty_and_linked_files_are_refused_with_the_reason(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "big.py").write_bytes(b"#" * (submissions.MAX_SOURCE_BYTES + 1))
    (klass / "empty.py").write_bytes(b"")
    (tmp_path / "elsewhere.py").write_bytes(CODE)
    os.symlink(tmp_path / "elsewhere.py", klass / "linked.py")
    entries = _by_id(submissions.find(klass))
    assert entries["big"].problem.startswith("larger than 1 MB")
    assert entries["empty"].problem == submissions.MSG_EMPTY
    assert entries["linked"].problem == submissions.MSG_LINK and entries["linked"].path is None


def test_safe_id_keeps_letters_and_drops_what_a_path_cannot_hold():
    assert submissions.safe_id("Zoë Ng") == "Zoë_Ng"
    assert submissions.safe_id("../../etc/passwd") == "etc_passwd"
    assert submissions.safe_id("a\x1b[2Jb") == "a_[2Jb"
    assert submissions.safe_id("Jose\u0301") == "José"  # NFC: one spelling per name
    assert submissions.safe_id("...") == "unnamed"


# -- archives --------------------------------------------------------------------------------

def _zip(path, members):
    with zipfile.ZipFile(path, "w") as package:
        for name, data in members.items():
            package.writestr(name, data)
    return path


def test_members_that_leave_the_folder_are_refused(tmp_path):
    for name in ("../escaped.py", "/tmp/absolute.py", "a/../../escaped.py"):
        archive = _zip(tmp_path / "bad.zip", {"ok.py": CODE, name: CODE})
        with pytest.raises(archives.ArchiveError, match="refused"):
            archives.extract(archive, tmp_path / "out")
        assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.py").exists()


def test_the_traversal_attack_works_without_the_path_check(tmp_path, monkeypatch):
    # The defence off: a member named ../escaped.py lands outside the folder it is unpacked into.
    archive = _zip(tmp_path / "bad.zip", {"../escaped.py": CODE})
    monkeypatch.setattr(archives, "_member_path", lambda archive, name: archives.PurePosixPath(name))
    archives.extract(archive, tmp_path / "out" / "in")
    assert (tmp_path / "out" / "escaped.py").exists()


def test_links_in_zip_and_tar_are_refused(tmp_path):
    link = zipfile.ZipInfo("alice.py")
    link.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as package:
        package.writestr(link, "/etc/passwd")
    with pytest.raises(archives.ArchiveError, match="is a link"):
        archives.extract(tmp_path / "link.zip", tmp_path / "out")
    with tarfile.open(tmp_path / "link.tar.gz", "w:gz") as package:
        info = tarfile.TarInfo("bob.py")
        info.type, info.linkname = tarfile.SYMTYPE, "../../attention_reference/multihead.py"
        package.addfile(info)
    with pytest.raises(archives.ArchiveError, match="is a link"):
        archives.extract(tmp_path / "link.tar.gz", tmp_path / "out2")


def test_too_many_files_and_a_zip_bomb_are_refused_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_FILES", 50)
    with pytest.raises(archives.ArchiveError, match="holds 51 files"):
        archives.extract(_zip(tmp_path / "many.zip", {f"s{n}.py": CODE for n in range(51)}), tmp_path / "o1")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("alice.py", b"\0" * (40 << 20))  # 40 MiB of zeros: about 40 kB packed
    assert bomb.stat().st_size < 200_000
    with pytest.raises(archives.ArchiveError, match=r"refused: it would unpack to more than 8 MiB \(its headers"):
        archives.extract(bomb, tmp_path / "o2", max_bytes=8 << 20)
    # Headers can lie: the bytes are counted as they are written, too.
    monkeypatch.setattr(archives._Budget, "declare", lambda self, size: None)
    with pytest.raises(archives.ArchiveError, match="counted while unpacking"):
        archives.extract(bomb, tmp_path / "o3", max_bytes=8 << 20)
    assert not (tmp_path / "o3").exists()


def test_a_member_twice_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as package:
        for _ in range(2):
            info = tarfile.TarInfo("alice.py")
            info.size = len(CODE)
            package.addfile(info, io.BytesIO(CODE))
    (tmp_path / "twice.tar").write_bytes(buffer.getvalue())
    with pytest.raises(archives.ArchiveError, match="appears twice"):
        archives.extract(tmp_path / "twice.tar", tmp_path / "out")


def test_names_with_terminal_escapes_reach_no_output_raw(tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "eve\x1b[2J.py").write_bytes(CODE)
    (klass / "eve\x1b[2J").mkdir()
    for name in ("a\x1b[31m.py", "b.py"):
        (klass / "eve\x1b[2J" / name).write_bytes(CODE)
    found = submissions.find(klass)
    text = "\n".join([*found.warnings, *(f"{e.student} {e.source} {e.problem} {e.identity}" for e in found.entries)])
    assert "\x1b" not in text and "\\x1b[2J" in text and "two candidate files: a\\x1b[31m.py, b.py" in text
