"""The check kit: everything an exercise's checks (and an instructor's own hidden checks)
import from the grader.

A check is a pytest test that takes the ``student`` fixture (a :class:`Student`, the
proxy to the submission in its sandbox) and carries ``@pytest.mark.points(N)``::

    from grader import kit

    @pytest.mark.points(1)
    @given(inputs=kit.strategies.softmax_inputs())
    def test_rows_sum_to_one(student, inputs):
        x, _ = inputs.tensors()
        got = kit.expect_tensor(student.call("softmax", x, -1), name="softmax's output", like=x)
        kit.assert_close(got.sum(-1), oracle=torch.ones(x.shape[:-1], dtype=x.dtype),
                         ref=torch.softmax(x, -1).sum(-1), name="the row sums")

What is here:

- comparisons (:mod:`grader.kit.compare`): ``assert_close`` with the error-budget
  tolerance, ``expect_tensor``/``expect_tuple``/``expect_array``, ``allowed_error``,
  ``mismatch``, ``matches``;
- verdicts: ``CheckFailure`` (a wrong answer), and the submission's own failures
  (``StudentError``, ``StudentException``, ...), which a check may catch;
- talking to the submission: ``Student``, ``RemoteObject``, ``Grad``, ``Reply``;
- inputs (:mod:`grader.kit.strategies`): Hypothesis strategies and seeded input bundles;
- diagnoses (:mod:`grader.kit.diagnose`): ``observe`` records an answer of the submission, and
  after the last check the grader names the known mistake (or pair) that reproduces them all;
  ``matching`` asks the same of one wrong answer;
- shared check steps (:mod:`grader.kit.steps`): ``build``, ``forward``, ``oracle_pair``, ``remembered``,
  ``expect_tensors``, ``expect_parameters``, ``require_graph``, ``check_gradients``,
  ``check_unmodified``, ``narrow``, ``final_example``, ``steps.expect_same_twice``;
- pictures: ``figures.attention_heatmaps`` and ``Curve`` (for ``student.show``);
- training in the grader: ``Adam`` (:mod:`grader.kit.optim`);
- the reference's gradients: ``backward(output, grad_output)`` (:mod:`grader.kit.autograd`), as
  ``output.backward(grad_output)`` without its first-use cost (SymPy's import).
"""

from grader.errors import (CheckFailure, MissingName, NotImplementedByStudent, SandboxFailure, StudentError,
                           StudentException, Timeout, WrongType)
from grader.kit import autograd, compare, diagnose, figures, optim, steps, strategies
from grader.kit.autograd import backward
from grader.kit.compare import (allowed_error, assert_close, expect_array, expect_tensor, expect_tuple, matches,
                                mismatch)
from grader.kit.optim import Adam
from grader.kit.steps import (build, check_gradients, check_unmodified, expect_parameters, expect_tensors,
                              final_example, forward, narrow, oracle_pair, remembered, require_graph)
from grader.results import Curve, Heatmap
from grader.sandbox.proxy import Grad, RemoteObject, Reply, Student

__all__ = [
    "Adam", "CheckFailure", "Curve", "Grad", "Heatmap", "MissingName", "NotImplementedByStudent", "RemoteObject", "Reply",
    "SandboxFailure", "Student", "StudentError", "StudentException", "Timeout", "WrongType", "allowed_error",
    "assert_close", "autograd", "backward", "build", "check_gradients", "check_unmodified", "compare", "diagnose", "expect_array",
    "expect_parameters", "expect_tensor", "expect_tensors", "expect_tuple", "figures", "final_example",
    "forward", "matches", "mismatch", "narrow", "optim", "oracle_pair", "remembered", "require_graph", "steps",
    "strategies",
]
