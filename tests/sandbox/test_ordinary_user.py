"""A grader run by an ordinary user, played for real: from a root test, the grader runs as an
unused uid (``setpriv``), inside a bubblewrap mount namespace that only opens the way to the
interpreter (a root-only home would otherwise hide it). Its child reads other processes of its
own user through /proc, walks the file system for a copy of the reference, and writes into the
grader's own results folder, at both levels: the ``namespaces`` level (a user namespace of its
own) and the ``rlimits`` level (Landlock)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import CORPUS, EXERCISES, ROOT
from grader import wire
from grader.sandbox import probe

HOSTILE = CORPUS / "02_multihead" / "hostile"
USER = 4242   # no account: setpriv needs none
BWRAP, SETPRIV = shutil.which("bwrap"), shutil.which("setpriv")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not BWRAP or not SETPRIV,
                                reason="needs root, bubblewrap and setpriv to run the grader as another user")


def _closed_ancestors(path: Path) -> list[Path]:
    """Folders on the way to ``path`` that another user cannot pass through."""
    closed, here = [], Path("/")
    for part in path.resolve().parts[1:]:
        here = here / part
        if here.is_dir() and not os.stat(here).st_mode & 0o001:
            closed.append(here)
    return closed


def _as_user(code: str, cwd: Path, env: dict, *, user: bool = True) -> subprocess.CompletedProcess:
    needed = [Path(sys.base_prefix), Path(sys.prefix), ROOT]
    args = [BWRAP, "--dev-bind", "/", "/"]
    for path in needed:
        for closed in _closed_ancestors(path):
            inside = path.resolve().parts[len(closed.parts)]
            args += ["--tmpfs", str(closed), "--bind", str(closed / inside), str(closed / inside)]
    args += ["--chdir", str(cwd), "--"]
    if user:
        args += [SETPRIV, f"--reuid={USER}", f"--regid={USER}", "--clear-groups"]
    args += [sys.executable, "-c", code]
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)


@pytest.fixture
def world(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="grade-user-test-"))
    os.chmod(folder, 0o755)
    os.chown(folder, USER, USER)
    clone = Path("/var/tmp") / f"grade-ta-clone-{secrets.token_hex(4)}"
    clone.mkdir()
    shutil.copy(ROOT / "attention_reference" / "multihead.py", clone / "multihead.py")
    os.chmod(clone, 0o755)
    yield folder, clone / "multihead.py"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(clone, ignore_errors=True)


def test_an_ordinary_users_child_reads_no_process_no_reference_and_writes_no_results(world):
    folder, planted = world
    token = secrets.token_hex(8)
    results = folder / "results"
    results.mkdir()
    os.chown(results, USER, USER)   # the grader's own folder, which its child would share at this level
    attack = folder / "attack.py"
    sources = [(HOSTILE / f"{name}.py").read_text() for name in ("reads_the_grader", "walks_for_the_reference")]
    attack.write_text("\n".join(sources).replace("__TOKEN__", token).replace("__PLANTED__", str(planted))
                      .replace("__RESULTS__", str(results)))
    # One grader as that user, grading at the rlimits level, then at the best it has.
    code = ("import json\nfrom pathlib import Path\nfrom grader import api\n"
            "for level in ('rlimits', 'best'):\n"
            f"    outcome = api.grade(exercise_dir=Path({str(EXERCISES / '02_multihead')!r}), "
            f"submission=Path({str(attack)!r}), isolation=level, report_dir=None)\n"
            "    print('RESULT ' + json.dumps(outcome.result.to_dict()))\n")
    done = _as_user(code, folder, {**os.environ, "GRADE_TEST_TOKEN": token, "TMPDIR": str(folder)})
    found = [json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert [r["isolation"] for r in found] == [wire.LEVEL_RLIMITS, probe.strongest_available()], done.stderr[-3000:]
    for result in found:
        output = result["student_output"]
        read = json.loads(next(l for l in output.splitlines() if l.startswith("GRADER "))[len("GRADER "):])
        walked = json.loads(next(l for l in output.splitlines() if l.startswith("WALKED "))[len("WALKED "):])
        assert read["mem"] == [] and not read["token"], (result["isolation"], read)
        assert walked == {"found": [], "planted_readable": False, "wrote_results": False}, (result["isolation"], walked)
    assert not (results / "results.json").exists()


def test_a_root_graders_child_without_namespaces_is_a_user_of_its_own(world):
    # With the interpreter open to other users (here through the mount namespace, as a system
    # Python is), a root grader's child at the rlimits level runs as a uid no account has.
    folder, _ = world
    probe_file = folder / "who.py"
    probe_file.write_text("import os\nprint('WHO', os.getuid(), os.getgid(), os.stat('.').st_uid, os.stat('.').st_mode & 0o777)\n")
    code = ("import json\nfrom pathlib import Path\nfrom grader import api\n"
            f"outcome = api.grade(exercise_dir=Path({str(EXERCISES / '02_multihead')!r}), "
            f"submission=Path({str(probe_file)!r}), isolation='rlimits', report_dir=None)\n"
            "print('RESULT ' + json.dumps(outcome.result.to_dict()))\n")
    done = _as_user(code, folder, {**os.environ, "TMPDIR": str(folder)}, user=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stderr[-3000:]
    output = json.loads(lines[0][len("RESULT "):])["student_output"]
    uid, gid, owner, mode = (int(v) for v in next(l for l in output.splitlines() if l.startswith("WHO ")).split()[1:])
    assert uid == gid == owner and uid > wire.CHILD_UID_BASE, output
    assert mode == 0o700
