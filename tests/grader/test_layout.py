"""The layout's rules, as the import system sees them: what each side of the trust boundary and
each stage of the pipeline loads, and the structural facts grading speed rests on.

Each rule is checked in a fresh interpreter (what a module imports depends on what is
already loaded). These are not timings (those live in ``benchmarks/grading.py``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXERCISES, ROOT

GRADER = ROOT / "grader"
CHILD_ENTRY = "grader.sandbox.child.server"


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _loaded_after(imports: str) -> set[str]:
    return set(json.loads(_python(f"import sys, json\n{imports}\nprint(json.dumps(sorted(sys.modules)))")))


def test_the_child_side_imports_only_the_standard_library_numpy_torch_the_wire_and_itself():
    # And whatever those two load themselves, a first backward pass included: the forkserver runs
    # one so that torch's lazy imports of it (SymPy, for symbolic shapes) happen once, not per child.
    baseline = _loaded_after("import numpy, torch\n"
                             "torch.autograd.backward([torch.ones(2, requires_grad=True) * 2], [torch.ones(2)])")
    loaded = _loaded_after(f"import {CHILD_ENTRY}")
    extra = sorted(m for m in loaded - baseline
                   if m.split(".")[0] not in sys.stdlib_module_names and m not in ("__main__",))
    allowed = {"grader", "grader.wire", "grader.sandbox", "grader.sandbox.child"}
    wrong = [m for m in extra if m not in allowed and not m.startswith("grader.sandbox.child.")]
    assert not wrong, f"the child side loads {wrong}"
    assert CHILD_ENTRY in loaded  # the rule was tested on the real entry point


def test_the_child_side_is_not_importable_from_the_child_by_accident():
    # The modules under grader/sandbox/child/ name only their own folder and the wire among the grader's.
    for path in sorted((GRADER / "sandbox" / "child").glob("*.py")):
        for name in _imported_names(path):
            if name.startswith("grader"):
                assert name in ("grader", "grader.wire", "grader.__version__") \
                    or name.startswith("grader.sandbox.child"), (path.name, name)


def test_the_grader_never_imports_the_untrusted_side():
    # The child side lives in the forkserver only; importing it also costs torch._dynamo's second.
    loaded = _loaded_after("import grader.cli, grader.api, grader.kit, grader.run.session, grader.run.batch")
    assert not [m for m in loaded if m.startswith("grader.sandbox.child")]
    assert "torch._dynamo" not in loaded


def test_a_whole_grade_in_process_leaves_the_child_side_unloaded(tmp_path):
    loaded = _loaded_after("from grader import api\n"
                           f"api.grade(exercise_dir={str(EXERCISES / '01_softmax')!r}, report_dir=None)")
    assert not [m for m in loaded if m.startswith("grader.sandbox.child")]


def test_outputs_never_import_torch():
    # Saved results can be rendered anywhere: results, spec and every output without torch.
    modules = ["grader.results", "grader.spec"] + [f"grader.outputs.{p.stem}"
                                                   for p in sorted((GRADER / "outputs").glob("*.py"))]
    loaded = _loaded_after("\n".join(f"import {m}" for m in modules))
    assert "torch" not in loaded
    assert all(m in loaded for m in modules)


def test_the_outputs_import_only_results_and_each_other():
    for path in sorted((GRADER / "outputs").glob("*.py")):
        for name in _imported_names(path):
            if name.startswith("grader"):
                assert name in ("grader", "grader.results", "grader.__version__") \
                    or name.startswith("grader.outputs"), (path.name, name)


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("*/checks/*.py")), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_checks_import_from_the_grader_only_the_kit(path):
    names = [n for n in _imported_names(path) if n.split(".")[0] == "grader"]
    assert names, f"{path.name} imports nothing from the grader: is it a check file?"
    wrong = [n for n in names if not (n == "grader.kit" or n.startswith("grader.kit."))]
    assert not wrong, f"{path.name} imports {wrong}: checks may import only grader.kit"


def test_the_forkserver_counts_operations_without_loading_torch_dynamo():
    # Counting aten ops with a TorchDispatchMode must not pull in torch._dynamo (a second).
    loaded = _python("import sys\nfrom grader.sandbox.child.recorder import OpCounter\n"
                     "import torch\nm = OpCounter()\n"
                     "with m: torch.ones(3) * 2\n"
                     "print(m.count > 0, 'torch._dynamo' in sys.modules)")
    assert loaded == "True False"


def test_hypothesis_draws_no_constants_from_the_loaded_source():
    # Otherwise the examples would depend on which modules happen to be loaded.
    sizes = _python("import grader.run.plugin, grader.outputs.report, grader.run.batch\n"
                    "from hypothesis.internal.conjecture import providers\n"
                    "c = providers._get_local_constants()\n"
                    "print(len(c.integers), len(c.floats), len(c.strings))")
    assert sizes == "0 0 0"


def _imported_names(path: Path) -> list[str]:
    """Every module ``path`` imports; ``from grader import x`` counts as ``grader.x``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "grader":
                names += [f"grader.{alias.name}" for alias in node.names]
            else:
                names.append(node.module)
    return names
