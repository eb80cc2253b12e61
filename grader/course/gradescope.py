"""The Gradescope autograder bundle (``grade gradescope EXERCISE_DIR -o autograder.zip``).

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` there once when it
builds the image, and runs ``run_autograder`` for every submission with the upload in
``/autograder/submission``; whatever ``/autograder/results/results.json`` holds afterwards is
the grade. Both scripts honour ``AUTOGRADER_ROOT`` (default ``/autograder``), so the bundle
can be run and tested anywhere. The zip holds, at its top level::

    setup.sh          makes $AUTOGRADER_ROOT/venv (Python 3.11+), installs the CPU build of torch
                      and this grader from the wheel below
    run_autograder    grades the upload with that venv's `grade` (grader.course.autograder) and
                      always leaves results.json, also when the upload is missing, empty or two files
    bundle.json       the exercise, the seed (a final-grading one stays here) and the extra checks
    exercise/<id>/    the exercise: exercise.toml, checks/, README.md, the stub
    extra_checks/<n>/ the instructor's --extra-checks folders (hidden checks)
    wheels/           attention_grader-<version>-py3-none-any.whl
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.course import wheel
from grader.spec import Exercise

BUNDLE_JSON = "bundle.json"
EPOCH = (2020, 1, 1, 0, 0, 0)

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source, when it builds the autograder's image.
# It makes a virtual environment with Python 3.11 or newer, installs the CPU build of torch,
# then this grader from the wheel in wheels/ (its other requirements come from PyPI).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TORCH="__TORCH__"

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing Python 3.11 (the grader needs 3.11 or newer)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null
    PYTHON="$(find_python)"
fi
if [ -z "$PYTHON" ]; then
    echo "setup.sh: no Python 3.11 or newer with venv here, and no apt-get to install one" >&2
    exit 1
fi

"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q --upgrade pip
"$ROOT/venv/bin/python" -m pip install -q "$TORCH" --index-url https://download.pytorch.org/whl/cpu
"$ROOT/venv/bin/python" -m pip install -q "$HERE"/wheels/*.whl
"$ROOT/venv/bin/grade" --version
echo "setup.sh: ready"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (the upload is in $AUTOGRADER_ROOT/submission).
# It always leaves $AUTOGRADER_ROOT/results/results.json: the grade, or 0 and why.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export AUTOGRADER_ROOT="$ROOT"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
if [ -x "$ROOT/venv/bin/python" ]; then
    "$ROOT/venv/bin/python" -m grader.course.autograder --source "$ROOT/source"
fi
if [ ! -s "$RESULTS" ]; then
    printf '%s\n' '{"score": 0, "output": "The autograder could not run (its setup failed), so this submission was not graded. Please tell your instructor.", "tests": []}' > "$RESULTS"
fi
exit 0
"""

README = """# Gradescope autograder for {exercise}

Made by `grade gradescope` (attention-grader {version}). Upload this zip on the
assignment's "Configure Autograder" page ("Zip file upload", Ubuntu base image).
Students upload one Python file (any name): it is graded against {checks} checks
({hidden} hidden: students see those only by category and count).
"""


@dataclass(frozen=True)
class Bundle:
    path: Path
    exercise: str
    checks: int
    hidden: int
    seed: int
    seed_hidden: bool

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def torch_requirement() -> str:
    """The torch version grading here, as setup.sh installs it (the CPU build of the same release)."""
    try:
        return "torch==" + importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return "torch"


def _add(package: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    member = zipfile.ZipInfo(name, EPOCH)
    member.external_attr = (0o100000 | mode) << 16
    member.compress_type = zipfile.ZIP_DEFLATED
    package.writestr(member, data)


def _add_tree(package: zipfile.ZipFile, folder: Path, prefix: str, skip: tuple[str, ...] = ()) -> None:
    for path in sorted(Path(folder).rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p == "__pycache__" or p.startswith(".") or p in skip for p in parts):
            _add(package, f"{prefix}/{'/'.join(parts)}", path.read_bytes())


def write_bundle(*, exercise: Exercise, output: Path, extra_checks: tuple[Path, ...], seed: int, seed_hidden: bool,
                 torch_spec: str | None, checks: int, hidden: int) -> Bundle:
    """Write the autograder zip to ``output`` (see the module's docstring for what it holds)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    config = {"exercise": exercise.id, "exercise_dir": f"exercise/{exercise.root.name}", "seed": seed,
              "seed_hidden": seed_hidden,
              "extra_checks": [f"extra_checks/{n}" for n in range(1, len(extra_checks) + 1)],
              "torch": torch_spec or torch_requirement(), "grader": wheel.grader.__version__}
    with tempfile.TemporaryDirectory(prefix="grade-bundle-") as scratch:
        built = wheel.build(Path(scratch), kind="full")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as package:
            _add(package, "setup.sh", SETUP_SH.replace("__TORCH__", config["torch"]).encode(), 0o755)
            _add(package, "run_autograder", RUN_AUTOGRADER.encode(), 0o755)
            _add(package, BUNDLE_JSON, (json.dumps(config, indent=2) + "\n").encode())
            _add(package, "README.md", README.format(exercise=exercise.id, version=config["grader"], checks=checks,
                                                     hidden=hidden).encode())
            _add_tree(package, exercise.root, config["exercise_dir"], skip=("handout",))
            for n, folder in enumerate(extra_checks, start=1):
                _add_tree(package, folder, f"extra_checks/{n}")
            _add(package, f"wheels/{built.name}", built.read_bytes())
        temporary = output.with_name(output.name + ".part")
        temporary.write_bytes(buffer.getvalue())
        shutil.move(temporary, output)
    return Bundle(path=output, exercise=exercise.id, checks=checks, hidden=hidden, seed=seed,
                  seed_hidden=seed_hidden)
