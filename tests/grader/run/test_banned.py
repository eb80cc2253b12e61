"""Static detection of banned calls: aliases, imports, getattr and tensor methods."""

from __future__ import annotations

import pytest

from grader.run.banned import find_banned

SOFTMAX_BANS = ("torch.softmax", "torch.nn.functional.softmax", "Tensor.softmax", "torch.nn.Softmax",
                "torch.nn.functional.scaled_dot_product_attention")


@pytest.mark.parametrize("source, expected", [
    ("import torch\ny = torch.softmax(x, -1)", "torch.softmax"),
    ("import torch.nn.functional as F\ny = F.softmax(x, -1)", "torch.nn.functional.softmax"),
    ("from torch.nn import functional as F\ny = F.softmax(x, -1)", "torch.nn.functional.softmax"),
    ("from torch import softmax as sm\ny = sm(x, -1)", "torch.softmax"),
    ("import torch\nf = torch.softmax\ny = f(x, -1)", "torch.softmax"),
    ("import torch\ny = getattr(torch, 'softmax')(x, -1)", "torch.softmax"),
    ("y = x.softmax(-1)", "Tensor.softmax"),
    ("y = getattr(x, 'softmax')(-1)", "Tensor.softmax"),
    ("import torch\ny = torch.Tensor.softmax(x, -1)", "Tensor.softmax"),
    ("import torch\nlayer = torch.nn.Softmax(dim=-1)", "torch.nn.Softmax"),
    ("from torch.nn.functional import *\ny = scaled_dot_product_attention(q, k, v)",
     "torch.nn.functional.scaled_dot_product_attention"),
])
def test_banned_use_is_found(source, expected):
    found = find_banned(source, SOFTMAX_BANS)
    assert [f.name for f in found] == [expected]
    assert found[0].line >= 1


@pytest.mark.parametrize("source", [
    "import torch\ny = torch.exp(x) / torch.exp(x).sum(-1, keepdim=True)",
    "import torch.nn.functional as F\ny = F.relu(x)",
    "def softmax(x):\n    return x\ny = softmax(x)",
    "# torch.softmax in a comment\ns = 'torch.softmax in a string'",
])
def test_allowed_code_is_not_flagged(source):
    assert find_banned(source, SOFTMAX_BANS) == []


def test_a_banned_module_bans_any_import_of_it():
    assert [f.name for f in find_banned("import torch\n", ("torch",))] == ["torch"]
    assert [f.name for f in find_banned("from torch import nn\n", ("torch",))] == ["torch"]
    assert [f.name for f in find_banned("m = __import__('torch')\n", ("torch",))] == ["torch"]
    assert find_banned("import numpy as np\n", ("torch",)) == []
