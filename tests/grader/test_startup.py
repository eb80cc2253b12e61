"""What `grade` loads, and where: the costs that decide whether grading feels interactive.

These are not timings (those live in ``benchmarks/grading.py``); they pin down the
structural facts that the timings rest on, each of which once cost about a second.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_grader_never_imports_the_untrusted_side():
    # grader.child is the sandboxed child's module; it lives in the forkserver only.
    loaded = _python("import sys, grader.cli, grader.api, grader.sandbox, grader.grading; "
                     "print('grader.child' in sys.modules, 'torch._dynamo' in sys.modules)")
    assert loaded == "False False"


def test_the_forkserver_counts_operations_without_loading_torch_dynamo():
    # Counting aten ops with a TorchDispatchMode must not pull in torch._dynamo (a second).
    loaded = _python("import sys, grader.child; m = grader.child._OpCounter()\n"
                     "import torch\n"
                     "with m: torch.ones(3) * 2\n"
                     "print(m.count > 0, 'torch._dynamo' in sys.modules)")
    assert loaded == "True False"


def test_hypothesis_draws_no_constants_from_the_loaded_source():
    # Otherwise the examples would depend on which modules happen to be loaded.
    sizes = _python("import grader.plugin, grader.report, grader.batch\n"
                    "from hypothesis.internal.conjecture import providers\n"
                    "c = providers._get_local_constants()\n"
                    "print(len(c.integers), len(c.floats), len(c.strings))")
    assert sizes == "0 0 0"
