"""Every child starts its generators from one seed, so a submission that draws random numbers (dropout,
its own torch.rand) answers the same each time it is graded, in any child of any grading process."""

from __future__ import annotations

import random

import numpy as np
import torch

from conftest import sandboxed

DRAWS = '''import random, numpy, torch
AT_LOAD = (float(torch.rand(())), random.random(), float(numpy.random.rand()))
def softmax(x, dim=-1):
    return torch.tensor(AT_LOAD, dtype=torch.float64)
'''


def test_every_child_draws_the_numbers_of_the_fixed_seed(tmp_path):
    drawn = []
    for _ in range(2):   # two children: a fork reseeds Python's generator, the forkserver's torch state varies
        with sandboxed(tmp_path, DRAWS) as student:
            drawn.append(student.call("softmax", torch.zeros(2)).tolist())
    random.seed(0)
    np.random.seed(0)
    generator = torch.Generator().manual_seed(0)
    expected = [float(torch.rand((), generator=generator)), random.random(), float(np.random.rand())]
    assert drawn == [expected, expected]
